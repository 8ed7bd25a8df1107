import type { DB } from '../store/db.js';
import { acquireLeaseOp, leaseHolderOp, releaseLeaseOp, renewLeaseOp } from '../store/leases.js';
import { donePassSinceOp, finishPassOp, startPassOp, type PassReason, type PassTotals, type ReconcileKind } from '../store/reconcile.js';
import { SqliteStore, type Store } from '../store/store.js';
import { errorMessage } from '../errors.js';
import type { OuraDeps } from '../providers/oura/session.js';
import { planRangesOp, reconcileUser, type ReconcileRange, type ReconcileUserResult } from './reconcile.js';

/**
 * The reconciliation of one `listen` run: a pass at start, one every `intervalMs` (start to
 * start), and one whenever the public side comes back after an outage. Passes run one at a
 * time, in the background, users one after another through a paced client.
 *
 * Several `listen` processes may share a database: a pass runs under the lease
 * `reconcile:oura` (leases.ts), so two never run at once, and a process whose turn comes just
 * after another's pass (or during it) skips its own: a pass that started after the moment a
 * request was made answers it, whoever ran it.
 */

export const RECONCILE_LEASE = 'reconcile:oura';
const LEASE_MS = 60_000;
/** While another process holds the lease for a pass that does not answer ours, look again this often. */
const LEASE_POLL_MS = 5_000;

export interface PassStarted {
  pass_id: number;
  reason: PassReason;
  users: number;
  types: readonly string[];
  /** The ranges: each user's first and last day. */
  ranges: readonly ReconcileRange[];
}

export interface PassDone extends PassTotals {
  pass_id: number;
  reason: PassReason;
  status: 'done' | 'stopped';
  started_at: string;
  duration_ms: number;
  /** When the next periodic pass is due, if any. */
  next_at: string | null;
}

export interface PassSkipped {
  reason: PassReason;
  why: string;
  next_at: string | null;
}

/** What a pass reports as it goes (listen's log and NDJSON). */
export interface ReconcileEvents {
  started(pass: PassStarted): void;
  user(pass: PassStarted, result: ReconcileUserResult): void;
  done(pass: PassDone): void;
  skipped(skip: PassSkipped): void;
  /** A failure of the reconciler itself (the database), not of a user's sync. */
  error(message: string): void;
}

export interface ReconcilerOptions {
  /** The store (SQLite or PostgreSQL), or a SQLite connection. */
  store?: Store;
  db?: DB;
  /** Oura access; its `http` should be paced well under Oura's limit (pacer.ts). */
  deps: OuraDeps;
  types: readonly string[];
  lookBackDays: number;
  /** Periodic passes this far apart (start to start); null for none. */
  intervalMs: number | null;
  /** This process's name on the lease (claims.ts `newClaimOwner`). */
  owner: string;
  events: ReconcileEvents;
  /** Aborted by stop(): the client's waits (pace, Retry-After) end at once (see abortableSleep). */
  abort?: AbortController;
  /** Injected in tests. */
  now?: () => Date;
  leaseMs?: number;
  /** How often to look again while another process's pass holds the lease (default 5 s). */
  leasePollMs?: number;
}

/** A sleep that ends early, rejecting, when `signal` aborts: waits of a stopping reconciliation (a pace, a Retry-After) do not hold up the stop. */
export function abortableSleep(signal: AbortSignal): (ms: number) => Promise<void> {
  return (ms) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new Error('stopping'));
      const onAbort = () => {
        clearTimeout(timer);
        reject(new Error('stopping'));
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
}

export class Reconciler {
  private running: Promise<void> | undefined;
  /** Requests made while a pass runs: the earliest moment each must be answered from. */
  private waiting: { reason: PassReason; since: Date } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private started = false;
  /** When this process's next periodic pass is due. */
  private nextAt: Date | null = null;
  private readonly now: () => Date;
  private readonly leaseMs: number;
  private readonly store: Store;

  constructor(private readonly options: ReconcilerOptions) {
    this.store = options.store ?? new SqliteStore(options.db!, options.db!.name);
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? LEASE_MS;
  }

  /** The pass at start, then the periodic ones. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.request('start');
  }

  /** Ask for a pass covering everything up to now (after an outage): runs after the current one, if any. */
  request(reason: PassReason): void {
    if (this.stopping || (!this.started && reason !== 'start')) return;
    const since = this.now();
    // Several requests while a pass runs make one more pass, answering the earliest.
    if (!this.waiting || since < this.waiting.since) this.waiting = { reason, since };
    this.pump();
  }

  /** Resolves once no pass runs or waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Start nothing new and end the client's waits; give the user being reconciled up to
   * `graceMs` to finish (the pass records it was stopped; the next run looks back as far).
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.wake?.();
    this.options.abort?.abort();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise<void>((resolve) => (timeout = setTimeout(resolve, graceMs)))]);
    clearTimeout(timeout);
  }

  private wake: (() => void) | undefined;

  /** Wait, unless stop() comes first. */
  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private pump(): void {
    if (this.running || this.stopping || !this.waiting) return;
    const request = this.waiting;
    this.waiting = undefined;
    this.running = this.serve(request.reason, request.since)
      .catch((err: unknown) => this.options.events.error(`reconciliation failed: ${errorMessage(err)}`))
      .then(() => this.schedule())
      .catch((err: unknown) => this.options.events.error(`could not schedule the next reconciliation: ${errorMessage(err)}`))
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  /** The next periodic pass: one interval after the last pass this database saw start (ours or another process's). */
  private async schedule(): Promise<void> {
    clearTimeout(this.timer);
    const interval = this.options.intervalMs;
    if (interval === null || this.stopping) return;
    const last = await this.latestStart();
    if (this.stopping) return;
    const due = new Date(Math.max(this.now().getTime(), (last?.getTime() ?? this.now().getTime()) + interval));
    this.nextAt = due;
    this.timer = setTimeout(() => this.request('interval'), due.getTime() - this.now().getTime());
  }

  private async latestStart(): Promise<Date | undefined> {
    const pass = await this.store.read(donePassSinceOp, 'oura', '');
    const holder = await this.store.read(leaseHolderOp, RECONCILE_LEASE, this.now().getTime());
    const times = [pass ? Date.parse(pass.started_at) : NaN, holder && holder.owner !== this.options.owner ? holder.acquired_at : NaN].filter(Number.isFinite);
    return times.length ? new Date(Math.max(...times)) : undefined;
  }

  /**
   * Answer a request: a periodic one by any pass that started within the last interval, one
   * after an outage by a pass that started after it ended. Waits while another process runs a
   * pass that does not answer it.
   */
  private async serve(reason: PassReason, requestedAt: Date): Promise<void> {
    const { owner, intervalMs } = this.options;
    const { store } = this;
    const since = reason === 'interval' && intervalMs !== null ? new Date(requestedAt.getTime() - intervalMs) : requestedAt;
    const answeredFrom = since.toISOString();
    for (;;) {
      if (this.stopping) return;
      const done = await store.read(donePassSinceOp, 'oura', answeredFrom);
      if (done && done.owner !== owner) {
        this.options.events.skipped({ reason, why: `a pass by another wearhook listen on this database started at ${done.started_at}`, next_at: this.nextPeriodic(Date.parse(done.started_at)) });
        return;
      }
      const now = this.now().getTime();
      if (await store.run(acquireLeaseOp, RECONCILE_LEASE, owner, this.leaseMs, now)) break;
      const holder = await store.read(leaseHolderOp, RECONCILE_LEASE, now);
      if (holder && holder.acquired_at >= Date.parse(answeredFrom)) {
        this.options.events.skipped({ reason, why: `another wearhook listen on this database (${holder.owner}) is running a pass`, next_at: this.nextPeriodic(holder.acquired_at) });
        return;
      }
      await this.pause(this.options.leasePollMs ?? LEASE_POLL_MS);
    }
    try {
      await this.pass(reason);
    } finally {
      try {
        await store.run(releaseLeaseOp, RECONCILE_LEASE, owner);
      } catch (err) {
        // It lapses by itself.
        this.options.events.error(`could not release the reconciliation lease: ${errorMessage(err)}`);
      }
    }
  }

  private nextPeriodic(lastStartMs: number): string | null {
    return this.options.intervalMs === null ? null : new Date(lastStartMs + this.options.intervalMs).toISOString();
  }

  private async pass(reason: PassReason): Promise<void> {
    const { deps, types, owner, events } = this.options;
    const { store } = this;
    const kind: ReconcileKind = reason === 'interval' ? 'reconcile' : 'catch-up';
    const startedAt = this.now();
    const row = await store.run(startPassOp, { provider: 'oura', reason, owner, types }, startedAt);
    const ranges = await store.read(planRangesOp, undefined, { types, lookBackDays: this.options.lookBackDays, now: startedAt });
    const info: PassStarted = { pass_id: row.id, reason, users: ranges.length, types, ranges };
    events.started(info);
    const totals: PassTotals = { users: 0, failed: 0, listed: 0, new: 0, updated: 0 };
    let leaseLost = false;
    const renew = setInterval(() => {
      store.run(renewLeaseOp, RECONCILE_LEASE, owner, this.leaseMs, this.now().getTime()).then(
        (held) => {
          if (!held) leaseLost = true;
        },
        (err: unknown) => events.error(`could not renew the reconciliation lease: ${errorMessage(err)}`),
      );
    }, Math.max(10, Math.floor(this.leaseMs / 3)));
    renew.unref();
    let status: 'done' | 'stopped' = 'done';
    try {
      for (const range of ranges) {
        if (this.stopping || leaseLost) {
          status = 'stopped';
          break;
        }
        const result = await reconcileUser(deps, range, types, kind);
        if (this.stopping && result.error !== null) {
          // Cut short by the stop (its waits end with an error): the next run looks back as far.
          status = 'stopped';
          break;
        }
        totals.users++;
        if (result.error !== null) totals.failed++;
        for (const t of result.types) {
          totals.listed += t.found;
          totals.new += t.new;
          totals.updated += t.updated;
        }
        events.user(info, result);
      }
    } finally {
      clearInterval(renew);
      const finishedAt = this.now();
      await store.run(finishPassOp, row.id, status, totals, finishedAt);
      const interval = this.options.intervalMs;
      events.done({
        ...totals,
        pass_id: row.id,
        reason,
        status,
        started_at: row.startedAt,
        duration_ms: finishedAt.getTime() - startedAt.getTime(),
        next_at: interval === null || this.stopping ? null : new Date(Math.max(finishedAt.getTime(), startedAt.getTime() + interval)).toISOString(),
      });
    }
  }
}
