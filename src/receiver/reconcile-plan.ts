import type { CliContext } from '../cli/context.js';
import type { Output } from '../cli/output.js';
import { UsageError } from '../errors.js';
import { OURA_REQUESTS_PER_S, Pacer } from '../net/pacer.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import { OURA_WEBHOOK_DATA_TYPES } from '../providers/oura/data-types.js';
import { newClaimOwner } from '../store/claims.js';
import type { DB } from '../store/db.js';
import type { Store } from '../store/store.js';
import { DEFAULT_OURA_SYNC_TYPES, OURA_SYNC_TYPES } from '../sync/oura-types.js';
import { abortableSleep, Reconciler, type ReconcileEvents } from '../sync/reconciler.js';

/** The `listen` flags about reconciliation. */
export interface ReconcileFlags {
  subscribe?: boolean;
  /** --reconcile / --no-reconcile; undefined: on with --subscribe. */
  reconcile?: boolean;
  reconcileInterval?: number;
  reconcileDays?: number;
  catchUp: boolean;
  dataType?: string[];
  all?: boolean;
}

export const DEFAULT_RECONCILE_INTERVAL_MS = 6 * 3_600_000;
export const DEFAULT_RECONCILE_DAYS = 7;
/**
 * Reconciliation uses half of Oura's rate (5000 requests per 5 minutes per application): the
 * rest stays for the receiver's own fetches and any `wearhook sync` meanwhile. Bursts of 8.
 */
export const RECONCILE_REQUESTS_PER_S = OURA_REQUESTS_PER_S / 2;

export interface ReconcilePlan {
  types: readonly string[];
  intervalMs: number | null;
  lookBackDays: number;
  /** Passes after each outage of the public side (unless --no-catch-up). */
  afterOutage: boolean;
  /** Start the passes on the store (SQLite or PostgreSQL), or on the listen run's SQLite connection. */
  start(ctx: CliContext, source: DB | Store): Reconciler;
}

/**
 * Check the reconciliation flags before anything starts. `listen --subscribe` reconciles unless
 * --no-reconcile (and catches up after outages unless --no-catch-up); `listen --reconcile` does
 * for the authorised users without subscribing.
 */
export function planReconcile(flags: ReconcileFlags): ReconcilePlan | undefined {
  const periodic = flags.reconcile ?? flags.subscribe === true;
  // What Oura sent while the public URL was down is lost: look for it when it comes back.
  const afterOutage = (flags.subscribe === true || flags.reconcile === true) && flags.catchUp;
  const tuning = [
    ['--reconcile-interval', flags.reconcileInterval !== undefined],
    ['--reconcile-days', flags.reconcileDays !== undefined],
  ] as const;
  if (!periodic) {
    const stray = tuning.filter(([, given]) => given).map(([name]) => name);
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')} only apply when reconciling: with --subscribe or --reconcile (and without --no-reconcile).`);
  }
  if (!flags.subscribe && (flags.dataType !== undefined || flags.all)) {
    if (!flags.reconcile) throw new UsageError('--data-type and --all only apply with --subscribe or --reconcile.');
    if (flags.dataType && flags.all) throw new UsageError('Give either --data-type or --all, not both.');
  }
  if (!periodic && !afterOutage) return undefined;

  const named = flags.all ? [...OURA_WEBHOOK_DATA_TYPES] : flags.dataType ? [...new Set(flags.dataType)] : flags.subscribe ? [] : [...DEFAULT_OURA_SYNC_TYPES];
  // Heart rate has no webhook: nothing to reconcile. Unknown types are left to the subscriptions' warning.
  const types = named.filter((t) => OURA_SYNC_TYPES.includes(t) && t !== 'heartrate');
  if (types.length === 0) {
    if (flags.reconcile) throw new UsageError(`None of ${named.join(', ')} is an Oura data type wearhook can reconcile; choose from ${OURA_WEBHOOK_DATA_TYPES.join(', ')}.`);
    return undefined;
  }
  const intervalMs = periodic ? (flags.reconcileInterval ?? DEFAULT_RECONCILE_INTERVAL_MS) : null;
  const lookBackDays = flags.reconcileDays ?? DEFAULT_RECONCILE_DAYS;
  return {
    types,
    intervalMs,
    lookBackDays,
    afterOutage,
    start(ctx, source) {
      const where = 'dialect' in source ? { store: source } : { db: source };
      const abort = new AbortController();
      const sleep = abortableSleep(abort.signal);
      const { output } = ctx;
      const http = ouraHttpClient({
        pacer: new Pacer(RECONCILE_REQUESTS_PER_S, 8, Date.now, sleep),
        sleep,
        onRetry: ({ delayMs, reason }) => {
          if (reason.includes('429')) output.log(`reconcile: Oura ${reason}; waiting ${(delayMs / 1000).toFixed(1)} s`);
          else output.debug(`reconcile: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
        },
      });
      const reconciler = new Reconciler({
        ...where,
        deps: { ...where, settings: ctx.settings, http },
        types,
        lookBackDays,
        intervalMs,
        owner: newClaimOwner(),
        abort,
        events: reconcileLog(output, { types, lookBackDays }),
      });
      reconciler.start();
      return reconciler;
    },
  };
}

function who(userId: string, label: string | null): string {
  return label ? `${label} (${userId})` : userId;
}

function seconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.round(s / 60);
  return m < 90 ? `${m} min` : `${Math.round(m / 6) / 10} h`;
}

const REASON_TEXT = { start: 'at start', interval: 'periodic', outage: 'after an outage' } as const;

/**
 * What a pass says: on stderr a line at its start and end and one per user for whom it found
 * what no notification brought (or who failed); with --json NDJSON `reconcile` lines per user
 * and type, `reconcile-pass` lines, and for the passes after a stop or an outage the first
 * edition's `catch-up` line per user.
 */
export function reconcileLog(output: Output, setup: { types: readonly string[]; lookBackDays: number }): ReconcileEvents {
  const c = output.errColor;
  const reportedWithoutData = new Set<string>();
  return {
    started(pass) {
      output.log(
        `reconcile (${REASON_TEXT[pass.reason]}): checking ${pass.users} Oura user${pass.users === 1 ? '' : 's'} for ${setup.types.join(', ')} over the last ${setup.lookBackDays} days and any since their last data`,
      );
      for (const range of pass.ranges) {
        const person = who(range.user.user_id, range.user.label);
        if (range.withoutData && !reportedWithoutData.has(range.user.user_id)) {
          reportedWithoutData.add(range.user.user_id);
          output.log(`reconcile: nothing is stored for Oura user ${person} yet: checking from ${range.from}; for earlier history run \`wearhook sync --user ${range.user.user_id} --from YYYY-MM-DD --to YYYY-MM-DD\``);
        } else if (range.capped) {
          output.log(`reconcile: Oura user ${person} has had no data since ${range.frontier}; checking from ${range.from} (older days: \`wearhook sync\`)`);
        }
      }
      if (output.json) {
        output.ndjson({ type: 'reconcile-pass', state: 'started', reason: pass.reason, pass_id: pass.pass_id, users: pass.users, types: pass.types });
      }
    },
    user(pass, result) {
      const person = who(result.user_id, result.label);
      const found = result.types.filter((t) => t.new + t.updated > 0);
      if (found.length > 0) {
        const what = found.map((t) => [t.new ? `${t.new} new` : '', t.updated ? `${t.updated} updated` : ''].filter(Boolean).join(' and ') + ` ${t.type}`);
        output.log(c.yellow(`reconcile: ${person}, ${result.from}..${result.to}: ${what.join(', ')} that no notification had brought`));
      }
      if (result.error !== null) {
        output.warn(`reconcile for Oura user ${person} failed: ${result.error}; the next pass tries again (or run \`wearhook sync --user ${result.user_id} --from ${result.from} --to ${result.to}\`)`);
      }
      if (!output.json) return;
      const base = { reason: pass.reason, pass_id: pass.pass_id, run_id: result.run_id, user_id: result.user_id, label: result.label, from: result.from, to: result.to };
      for (const t of result.types) {
        output.ndjson({
          type: 'reconcile',
          ...base,
          data_type: t.type,
          found: t.found,
          new: t.new,
          updated: t.updated,
          unchanged: t.unchanged,
          superseded: t.superseded,
          ...(t.error !== null ? { error: t.error } : {}),
        });
      }
      if (result.types.length === 0 && result.error !== null) output.ndjson({ type: 'reconcile', ...base, error: result.error });
      if (pass.reason !== 'interval') {
        const sum = result.types.reduce((s, t) => ({ new: s.new + t.new, updated: s.updated + t.updated }), { new: 0, updated: 0 });
        output.ndjson({ type: 'catch-up', user_id: result.user_id, from: result.from, to: result.to, ...sum, ...(result.error !== null ? { error: result.error } : {}) });
      }
    },
    done(pass) {
      const next = pass.next_at ? `; next in ${seconds(Date.parse(pass.next_at) - Date.now())}` : '';
      const verb = pass.status === 'done' ? 'done' : 'stopped';
      output.log(
        `reconcile: ${verb} in ${seconds(pass.duration_ms)}: ${pass.users} user${pass.users === 1 ? '' : 's'}, ${pass.listed} documents checked, ${pass.new} new, ${pass.updated} updated` +
          (pass.failed ? c.red(`, ${pass.failed} failed`) : '') +
          next,
      );
      if (output.json) {
        output.ndjson({
          type: 'reconcile-pass',
          state: pass.status,
          reason: pass.reason,
          pass_id: pass.pass_id,
          started_at: pass.started_at,
          duration_ms: pass.duration_ms,
          users: pass.users,
          failed: pass.failed,
          found: pass.listed,
          new: pass.new,
          updated: pass.updated,
          next_at: pass.next_at,
        });
      }
    },
    skipped(skip) {
      output.log(`reconcile (${REASON_TEXT[skip.reason]}): skipped, ${skip.why}`);
      if (output.json) output.ndjson({ type: 'reconcile-pass', state: 'skipped', reason: skip.reason, why: skip.why, next_at: skip.next_at });
    },
    error(message) {
      output.warn(message);
      if (output.json) output.ndjson({ type: 'error', message });
    },
  };
}
