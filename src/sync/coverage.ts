import type { DB } from '../store/db.js';
import { documentArrivalsOp, isReconcileKind, ouraNotificationBodiesOp, type ArrivalFilter, type DocumentArrival } from '../store/coverage.js';
import type { Op } from '../store/sql.js';
import { runSqlite } from '../store/sqlite-run.js';
import { lastDonePassOp } from '../store/reconcile.js';
import { accountKey, accountLabelsOp } from '../store/participants.js';
import { parseOuraNotification } from '../providers/oura/webhook.js';
import { decodeJson } from '../util/json.js';
import type { Output } from '../cli/output.js';

/**
 * Gap accounting (issue #17): of the documents stored, how many a webhook brought and how many
 * only reconciliation found, per participant, so that a study sees how reliable its sender
 * was. A document counts as `webhook` when a notification of it arrived, even if a
 * reconciliation pass fetched it first (an early notification still waiting for its retry);
 * `reconciliation` when none did and a pass of `listen` found it; `sync` when it was only ever
 * fetched by a `wearhook sync` (history).
 */

export type Arrival = 'webhook' | 'reconciliation' | 'sync';

export interface ArrivalCounts {
  documents: number;
  webhook: number;
  reconciliation: number;
  sync: number;
}

export interface AccountCoverage extends ArrivalCounts {
  /** The label of the participant the account belongs to, if any. */
  participant: string | null;
  provider: string;
  user_id: string;
  /** Of the documents a webhook or a reconciliation brought, the share webhooks did (null when none). */
  webhook_share: number | null;
  types: Record<string, ArrivalCounts>;
}

export interface Coverage {
  accounts: AccountCoverage[];
  totals: ArrivalCounts & { webhook_share: number | null };
  /** The last reconciliation pass that ran to its end, by any listen on this database. */
  last_reconcile: { started_at: string; finished_at: string | null; reason: string; new: number; updated: number } | null;
}

/**
 * How each document arrived (see the module comment). An Oura notification whose fetch found
 * the document already stored leaves no version of its own: the notifications a user's
 * deliveries hold are read once per user to tell those.
 */
function arrivals(): (doc: DocumentArrival) => Op<Arrival> {
  const notified = new Map<string, Set<string>>();
  return function* arrivalOf(doc) {
    if (doc.webhook) return 'webhook';
    if (doc.provider === 'oura') {
      let objects = notified.get(doc.user_id);
      if (!objects) notified.set(doc.user_id, (objects = notifiedObjects(yield* ouraNotificationBodiesOp(doc.user_id))));
      if (objects.has(`${doc.type}\u0000${doc.id}`)) return 'webhook';
    }
    return isReconcileKind(doc.first_sync_kind) ? 'reconciliation' : 'sync';
  };
}

/** The (data type, object id) pairs Oura notifications name. */
function notifiedObjects(bodies: readonly Buffer[]): Set<string> {
  const objects = new Set<string>();
  for (const body of bodies) {
    try {
      const n = parseOuraNotification(decodeJson(body));
      if (n.object_id) objects.add(`${n.data_type}\u0000${n.object_id}`);
    } catch {
      // A body that is not a notification brought nothing.
    }
  }
  return objects;
}

export function emptyCounts(): ArrivalCounts {
  return { documents: 0, webhook: 0, reconciliation: 0, sync: 0 };
}

function add(counts: ArrivalCounts, arrival: Arrival): void {
  counts.documents++;
  counts[arrival]++;
}

/** Of the documents a webhook or a reconciliation brought, the share webhooks did (null when none). */
export function webhookShare(counts: ArrivalCounts): number | null {
  const polled = counts.webhook + counts.reconciliation;
  return polled === 0 ? null : Math.round((counts.webhook / polled) * 1000) / 1000;
}

/** Per account (provider and user, with its participant) and data type, over the documents the filter selects; a participant's accounts are adjacent. */
export function* coverageOp(filter: ArrivalFilter = {}): Op<Coverage> {
  const labels = yield* accountLabelsOp();
  const arrivalOf = arrivals();
  const accounts = new Map<string, AccountCoverage>();
  const totals = emptyCounts();
  for (const doc of yield* documentArrivalsOp(filter)) {
    const key = accountKey(doc.provider, doc.user_id);
    let account = accounts.get(key);
    if (!account) {
      account = { participant: labels.get(key) ?? null, provider: doc.provider, user_id: doc.user_id, ...emptyCounts(), webhook_share: null, types: {} };
      accounts.set(key, account);
    }
    const arrival = yield* arrivalOf(doc);
    add(account, arrival);
    add((account.types[doc.type] ??= emptyCounts()), arrival);
    add(totals, arrival);
  }
  for (const account of accounts.values()) account.webhook_share = webhookShare(account);
  const pass = yield* lastDonePassOp('oura');
  const byParticipant = (a: AccountCoverage, b: AccountCoverage) =>
    (a.participant === null ? 1 : 0) - (b.participant === null ? 1 : 0) || (a.participant ?? '').localeCompare(b.participant ?? '') || a.provider.localeCompare(b.provider) || a.user_id.localeCompare(b.user_id);
  return {
    accounts: [...accounts.values()].sort(byParticipant),
    totals: { ...totals, webhook_share: webhookShare(totals) },
    last_reconcile: pass ? { started_at: pass.started_at, finished_at: pass.finished_at, reason: pass.reason, new: pass.new, updated: pass.updated } : null,
  };
}

/** The same on a SQLite connection. */
export function coverage(db: DB, filter: ArrivalFilter = {}): Coverage {
  return runSqlite(db, coverageOp(filter));
}

/** Per account and document day: what the study report adds to each participant's day. */
export function* arrivalsByDayOp(filter: ArrivalFilter = {}): Op<Map<string, Map<string, ArrivalCounts>>> {
  const result = new Map<string, Map<string, ArrivalCounts>>();
  const arrivalOf = arrivals();
  for (const doc of yield* documentArrivalsOp(filter)) {
    if (doc.day === null) continue;
    const key = accountKey(doc.provider, doc.user_id);
    let days = result.get(key);
    if (!days) result.set(key, (days = new Map()));
    let counts = days.get(doc.day);
    if (!counts) days.set(doc.day, (counts = emptyCounts()));
    add(counts, yield* arrivalOf(doc));
  }
  return result;
}

export function percent(share: number | null): string {
  return share === null ? '-' : `${Math.round(share * 1000) / 10}%`;
}

/** The table `events coverage` prints: one line per account and data type, then the totals. */
export function printCoverage(output: Output, result: Coverage): void {
  if (result.accounts.length === 0) {
    output.result('No documents are stored for that selection.');
    return;
  }
  const rows: string[][] = [['participant', 'provider', 'type', 'documents', 'by webhook', 'only by reconciliation', 'only by sync', 'webhook share']];
  for (const a of result.accounts) {
    const who = a.participant ? `${a.participant} (${a.user_id})` : a.user_id;
    for (const [type, c] of Object.entries(a.types)) {
      rows.push([who, a.provider, type, String(c.documents), String(c.webhook), String(c.reconciliation), String(c.sync), percent(webhookShare(c))]);
    }
    if (Object.keys(a.types).length > 1) {
      rows.push([who, a.provider, 'all', String(a.documents), String(a.webhook), String(a.reconciliation), String(a.sync), percent(a.webhook_share)]);
    }
  }
  const t = result.totals;
  rows.push(['all', '', '', String(t.documents), String(t.webhook), String(t.reconciliation), String(t.sync), percent(t.webhook_share)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) output.result(row.map((cell, i) => (i >= 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
  const pass = result.last_reconcile;
  output.result(
    pass
      ? `last reconciliation: ${pass.finished_at ?? pass.started_at} (${pass.reason}), ${pass.new} new and ${pass.updated} updated documents found`
      : 'no reconciliation has run on this database (`wearhook listen --subscribe` or `--reconcile` runs them)',
  );
}
