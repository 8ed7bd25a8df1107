import type { DB } from '../store/db.js';
import {
  DELIVERY_WORK,
  headerPairs,
  markFailedOp,
  markProcessedOp,
  parkDeliveryOp,
  scheduleRetryOp,
  type DeliveryRow,
  type DeliveryStatus,
} from '../store/deliveries.js';
import { ClaimLostError, DEFAULT_LEASE_MS, newClaimOwner, releaseClaimsOp, renewClaimsOp } from '../store/claims.js';
import { markDocumentDeletedOp, storeDocumentOp, type DocumentInput, type Provenance } from '../store/documents.js';
import { attributeSamplesToSleepDaysOp, upsertSamplesOp } from '../store/samples.js';
import type { Op } from '../store/sql.js';
import { ouraDocumentInput } from '../providers/oura/documents.js';
import type { DeliveryContext, Provider, ProviderName, Work } from '../providers/types.js';
import { errorMessage } from '../errors.js';
import { decodeJson } from '../util/json.js';
import { GroupCommit } from './group-commit.js';
import { sqliteWorkStore, type Claimed, type WorkStore } from './work-store.js';

/**
 * Fetch one Oura document with the user's token. `null` means Oura answered 404 (it happens
 * right after a notification: retried later); any other failure throws (also retried).
 * `signal` aborts it when the receiver stops (the delivery stays to be resumed).
 */
export type FetchOuraDocument = (userId: string, dataType: string, objectId: string, signal?: AbortSignal) => Promise<unknown | null>;

/**
 * The fetch cannot succeed until someone authorizes the user (nobody has, or their grant was
 * refused): the delivery waits, `pending` with this reason and no next attempt, its attempts
 * untouched, until an authorization wakes it (`wakeDeliveriesOfOp`).
 */
export class AwaitingAuthorization extends Error {}

export interface WorkEvent {
  type: 'work';
  id: number;
  provider: string;
  event_type: string | null;
  user_id: string | null;
  status: Exclude<DeliveryStatus, 'received'>;
  attempts: number;
  documents: number;
  samples: number;
  deleted: number;
  /** Documents older than the version already stored (the provider's order): kept as history, not exported. */
  older: number;
  error?: string;
  next_attempt_at?: string;
}

export interface WorkQueueOptions {
  /** The SQLite database, unless `store` is given. */
  db?: DB;
  /** Where the queue keeps its state (default: `db` through `commits`); work-store.ts. */
  store?: WorkStore;
  /** Where the work's writes are committed; the receiver shares its own, so derived rows ride on the deliveries' commits. */
  commits?: GroupCommit;
  providers: ReadonlyMap<ProviderName, Provider>;
  fetchOuraDocument: FetchOuraDocument;
  /** Oura fetches at once (default 4); normalising payloads that carry their data is not limited by it. */
  concurrency?: number;
  /** Fetch attempts before a delivery is `failed` (default 8, about three hours of retries). */
  maxAttempts?: number;
  /** Wait before attempt `attempt + 1`. */
  retryDelayMs?: (attempt: number) => number;
  /** This process's name on its claims (claims.ts); one is made up when not given. */
  owner?: string;
  /** How long a claim lasts unless renewed (default 30 s). */
  leaseMs?: number;
  /** Claimed deliveries held in memory at most (default 1024), and their bodies' bytes (default 64 MiB); beyond that they wait in the database. */
  maxHeld?: number;
  maxHeldBytes?: number;
  onEvent?: (event: WorkEvent) => void;
  /** An unexpected failure of the queue itself (e.g. the database went away). */
  onError?: (err: unknown) => void;
}

/** A delivery whose work this process has claimed. */
export interface WorkJob {
  id: number;
  provider: string;
  eventType: string | null;
  userId: string | null;
  /** Attempts made before this one. */
  attempts: number;
  /** The size of its body, for the bound on what is held in memory. */
  bytes: number;
  /** The parsed payload, when the receiver hands over what it just stored; else read from `body`. */
  payload?: unknown;
  body?: Buffer;
  /** When the delivery arrived: the documents it carries were obtained then. */
  receivedAt: Date;
  /** The delivery's headers (names in lower case): the sender's signed timestamp orders its documents. */
  headers: DeliveryContext['headers'];
}

type Prepared = WorkJob & ({ work: Work; invalid?: undefined } | { work?: undefined; invalid: string });

/**
 * How long a row whose work failed unexpectedly (the database refused a write: disk full,
 * read-only) waits before it is tried again: long enough never to spin, short enough that
 * the work catches up soon after the database takes writes again.
 */
export const STUCK_RETRY_MS = 10_000;

/** How often the database is looked at for work nobody holds (another process's crash, deliveries stored while the queue was full). */
export const SCAN_INTERVAL_MS = 5_000;

/** Rows claimed from the database per look (at most 1 MiB each). */
const SCAN_ROWS = 32;

/** Work that needs no fetch is started for up to this many deliveries per pass; their writes share a commit. */
const BATCH = 128;

/** 10 s, 30 s, 90 s, ... capped at an hour. */
export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(3_600_000, 10_000 * 3 ** (attempt - 1));
}

/** Errors after which the same write may succeed later (the disk, not the data). */
function isTransientStoreError(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  return /^SQLITE_(FULL|IOERR|READONLY|BUSY|LOCKED|CANTOPEN|PERM|NOMEM|PROTOCOL)/.test(code) || /^E(FBIG|NOSPC|ROFS|IO)$/.test(code);
}

/**
 * The work after the acknowledgement, off the request path. The delivery log is the queue,
 * and each row's work is claimed by exactly one process (claims.ts), so several receivers may
 * share a database and work cut short by a stop or a crash resumes: the receiver claims what
 * it stores and hands it over in memory; rows nobody holds (a previous run's, a crashed
 * process's, retries that fell due) are claimed from the database. Oura fetches run with
 * bounded concurrency and are retried with backoff until `maxAttempts`; payloads that carry
 * their data are normalised in batches. Every write here is derived from a stored delivery,
 * so none waits for its own fsync (group-commit.ts).
 */
export class WorkQueue {
  readonly owner: string;
  private readonly held: Prepared[] = [];
  private readonly busy = new Map<number, Promise<void>>();
  /** Busy rows that are Oura deliveries (a fetch, bounded by `concurrency`). */
  private fetching = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** Claimed rows whose work failed unexpectedly (the database refused a write), with when they may be tried again. */
  private readonly stuck = new Map<number, { job: Prepared; until: number }>();
  /** When the database should next be looked at for work nobody holds. */
  private scanAt = 0;
  private scanTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Stopping: nothing more is taken from the database and fetches are aborted, but deliveries handed over are still normalised. */
  private draining = false;
  /** Set once stop() stops waiting: late results are dropped, their rows are left to resume. */
  private abandoned = false;
  private readonly aborter = new AbortController();
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly leaseMs: number;
  private readonly maxHeld: number;
  private readonly maxHeldBytes: number;
  /** Bytes of the bodies of held and running jobs. */
  private heldBytes = 0;
  private readonly store: WorkStore;
  /** A look at the database is under way (PostgreSQL answers later). */
  private claiming = false;

  constructor(private readonly options: WorkQueueOptions) {
    if (options.store) this.store = options.store;
    else if (options.db) this.store = sqliteWorkStore(options.db, options.commits ?? new GroupCommit(options.db));
    else throw new Error('WorkQueue needs a db or a store');
    this.concurrency = options.concurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
    this.owner = options.owner ?? newClaimOwner();
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.maxHeld = options.maxHeld ?? 1024;
    this.maxHeldBytes = options.maxHeldBytes ?? 64 * 1024 * 1024;
  }

  /** Aborted when the queue stops: outstanding fetches end, their deliveries stay to be resumed. */
  get signal(): AbortSignal {
    return this.aborter.signal;
  }

  /** Whether a delivery of `bytes` stored now should be claimed for this queue (else it waits in the database, for a later scan). */
  wantsMore(bytes: number): boolean {
    return !this.abandoned && this.held.length + this.busy.size < this.maxHeld && this.heldBytes + bytes <= this.maxHeldBytes;
  }

  /** A claim for a delivery about to be stored, valid for one lease. */
  claim(now = Date.now()): { owner: string; until: number } {
    return { owner: this.owner, until: now + this.leaseMs };
  }

  /** Hand over a delivery stored with this queue's claim. */
  add(job: WorkJob): void {
    // Stopped: its claim is released with the others, and the next run (or another process) does it.
    if (this.abandoned) return;
    this.hold(this.prepare(job));
    this.kick();
  }

  /** A delivery was stored without a claim: look for it in the database soon. */
  stored(): void {
    this.scanAt = 0;
    this.kick();
  }

  /** Look for due work soon (once at start-up, and whenever something changes). */
  kick(): void {
    if (this.abandoned || this.scheduled) return;
    this.scheduled = setImmediate(() => this.pass());
  }

  /** Resolves when nothing is running, held or due right now. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.scanAt = 0;
      this.kick();
    });
  }

  /**
   * Take nothing more from the database and abort outstanding fetches (their deliveries are
   * left to resume); deliveries handed over from now on are still normalised when they need no fetch.
   */
  beginStop(): void {
    if (this.draining) return;
    this.draining = true;
    clearTimeout(this.scanTimer);
    this.aborter.abort();
  }

  /**
   * beginStop(), then give running work up to `graceMs` to settle, start nothing more, and give
   * up every claim, so that the next run, or another process, resumes what was left.
   */
  async stop(graceMs = 5_000): Promise<void> {
    this.beginStop();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timeout);
    this.abandoned = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    clearTimeout(this.scanTimer);
    clearInterval(this.renewTimer);
    this.held.length = 0;
    this.stuck.clear();
    this.heldBytes = 0;
    try {
      await this.store.write(() => releaseClaimsOp(DELIVERY_WORK, this.owner));
    } catch (err) {
      // They lapse by themselves after a lease.
      this.options.onError?.(err);
    }
  }

  private pass(): void {
    this.scheduled = undefined;
    try {
      this.pump();
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private pump(): void {
    const now = Date.now();
    for (const [id, { job, until }] of this.stuck) {
      if (until > now) continue;
      this.stuck.delete(id);
      this.held.push(job);
    }
    if (now >= this.scanAt && !this.draining && !this.claiming) {
      // Rows are claimed a few at a time (a body may be 1 MiB), and only while what is held leaves room for them.
      const room = Math.min(this.maxHeld - this.held.length - this.busy.size, this.heldBytes <= this.maxHeldBytes / 2 ? SCAN_ROWS : 0);
      if (room > 0) {
        const claimed = this.store.claim(this.owner, room, now, this.leaseMs);
        if (!(claimed instanceof Promise)) return this.afterPump(now, this.took(claimed, room, now));
        this.claiming = true;
        claimed.then(
          (result) => {
            this.claiming = false;
            // Stopped meanwhile: the claims are released with the others.
            if (this.abandoned) return;
            this.afterPump(Date.now(), this.took(result, room, now));
          },
          (err: unknown) => {
            this.claiming = false;
            this.options.onError?.(err);
            this.scanAt = Date.now() + STUCK_RETRY_MS;
            this.afterPump(Date.now(), false);
          },
        );
        return;
      }
    }
    this.afterPump(now, false);
  }

  /** Hold the rows a look at the database claimed; whether it may have left more that are due now. */
  private took(claimed: Claimed, room: number, now: number): boolean {
    for (const row of claimed.rows) this.hold(this.prepare(jobOfRow(row)));
    // A full claim may have left more: look again as soon as there is room.
    const dueNow = claimed.rows.length === room;
    this.scanAt = dueNow ? 0 : Math.min(claimed.nextDueAt ?? Infinity, now + SCAN_INTERVAL_MS);
    return dueNow;
  }

  private afterPump(now: number, dueNow: boolean): void {
    this.startHeld();
    this.keepClaims();
    if (this.busy.size === 0 && !this.claiming && !this.held.some((job) => this.mayStart(job)) && !dueNow) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    this.armScanTimer(now);
  }

  /** Start what may start: every job that needs no fetch (up to a batch), fetches up to `concurrency`; the rest keep their order. */
  private startHeld(): void {
    let started = 0;
    for (let i = 0; i < this.held.length && started < BATCH; ) {
      const job = this.held[i]!;
      const fetches = job.provider === 'oura';
      if (!this.mayStart(job) || (fetches && this.fetching >= this.concurrency)) {
        i++;
        continue;
      }
      this.held.splice(i, 1);
      started++;
      if (fetches) this.fetching++;
      const task = this.run(job)
        .catch((err: unknown) => this.failedUnexpectedly(job, err))
        .finally(() => {
          this.busy.delete(job.id);
          if (!this.stuck.has(job.id)) this.heldBytes -= job.bytes;
          if (fetches) this.fetching--;
          this.kick();
        });
      this.busy.set(job.id, task);
    }
    if (this.held.length > 0 && started === BATCH) this.kick();
  }

  private hold(job: Prepared): void {
    this.held.push(job);
    this.heldBytes += job.bytes;
  }

  /** While stopping, only work that needs no fetch starts. */
  private mayStart(job: Prepared): boolean {
    return !this.draining || job.provider !== 'oura';
  }

  /** Renew this process's claims while it holds any (a fetch may outlast a lease). */
  private keepClaims(): void {
    const holding = this.busy.size + this.held.length + this.stuck.size > 0;
    if (holding && !this.renewTimer) {
      this.renewTimer = setInterval(() => {
        this.store
          .write(() => renewClaimsOp(DELIVERY_WORK, this.owner, this.leaseMs))
          .catch((err: unknown) => this.options.onError?.(err));
      }, Math.max(10, Math.floor(this.leaseMs / 3)));
      this.renewTimer.unref();
    } else if (!holding && this.renewTimer) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  private armScanTimer(now: number): void {
    clearTimeout(this.scanTimer);
    this.scanTimer = undefined;
    const stuckUntil = Math.min(Infinity, ...[...this.stuck.values()].map((s) => s.until));
    const next = this.draining ? Infinity : Math.min(this.scanAt, stuckUntil);
    // Due now with no room: running work kicks when it finishes.
    if (next <= now && (this.busy.size > 0 || this.held.length > 0)) return;
    if (next < Infinity) this.scanTimer = setTimeout(() => this.kick(), Math.max(0, next - now));
  }

  /** Decode the payload and decide its work; a payload that cannot be worked on is failed when its turn comes. */
  private prepare(job: WorkJob): Prepared {
    try {
      const provider = this.options.providers.get(job.provider as ProviderName);
      if (!provider) throw new Error(`no provider "${job.provider}"`);
      const payload = job.payload !== undefined ? job.payload : decodeJson(job.body ?? Buffer.alloc(0));
      return { ...job, payload, work: provider.work(payload, { headers: job.headers }) };
    } catch (err) {
      return { ...job, invalid: errorMessage(err) };
    }
  }

  private async run(job: Prepared): Promise<void> {
    const attempts = job.attempts + 1;
    const { work } = job;
    if (!work) {
      await this.store.write(() => markFailedOp(this.owner, job.id, attempts, job.invalid));
      this.report(job, 'failed', attempts, { error: job.invalid });
      return;
    }

    if (work.kind === 'store') {
      // What the payload carried is the version wearhook obtained when the delivery arrived.
      const provenance: Provenance = { source: 'webhook', retrievedAt: job.receivedAt, deliveryId: job.id };
      const owner = this.owner;
      const counts = await this.store.write(function* () {
        yield* markProcessedOp(owner, job.id, attempts);
        let older = 0;
        for (const doc of work.documents) if ((yield* storeDocumentOp(doc, provenance)) === 'older') older++;
        const samples = yield* upsertSamplesOp(work.samples, provenance);
        let deleted = 0;
        for (const ref of work.deletions) deleted += (yield* markDocumentDeletedOp(ref.provider, ref.type, ref.id)) ? 1 : 0;
        if (work.sleepDaySeries) yield* attributeToSleep(work, work.sleepDaySeries);
        return { documents: work.documents.length, samples, deleted, older };
      });
      this.report(job, 'processed', attempts, counts);
      return;
    }

    let doc: unknown;
    try {
      doc = await this.options.fetchOuraDocument(work.userId, work.dataType, work.objectId, this.aborter.signal);
    } catch (err) {
      if (this.abandoned || this.aborter.signal.aborted) return;
      if (err instanceof AwaitingAuthorization) {
        await this.store.write(() => parkDeliveryOp(this.owner, job.id, err.message));
        this.report(job, 'pending', job.attempts, { error: err.message });
        return;
      }
      await this.retryOrFail(job, attempts, errorMessage(err));
      return;
    }
    if (this.abandoned || this.aborter.signal.aborted) return;
    // Oura's order is the order of fetches: this one is newer than any that returned before it.
    const fetchedAt = new Date();
    if (doc === null) {
      await this.retryOrFail(job, attempts, `Oura has no ${work.dataType} document ${work.objectId} yet (404)`);
      return;
    }
    let input: DocumentInput;
    try {
      input = ouraDocumentInput(work.dataType, work.userId, doc, 'webhook');
    } catch (err) {
      await this.store.write(() => markFailedOp(this.owner, job.id, attempts, errorMessage(err)));
      this.report(job, 'failed', attempts, { error: errorMessage(err) });
      return;
    }
    const owner = this.owner;
    const older = await this.store.write(function* () {
      yield* markProcessedOp(owner, job.id, attempts);
      return (yield* storeDocumentOp(input, { source: 'webhook', retrievedAt: fetchedAt, deliveryId: job.id })) === 'older' ? 1 : 0;
    });
    this.report(job, 'processed', attempts, { documents: 1, older });
  }

  private async retryOrFail(job: Prepared, attempts: number, error: string): Promise<void> {
    if (attempts >= this.maxAttempts) {
      const message = `gave up after ${attempts} attempts: ${error}`;
      await this.store.write(() => markFailedOp(this.owner, job.id, attempts, message));
      this.report(job, 'failed', attempts, { error: message });
      return;
    }
    const next = new Date(Date.now() + this.retryDelayMs(attempts));
    await this.store.write(() => scheduleRetryOp(this.owner, job.id, attempts, next, error));
    this.scanAt = Math.min(this.scanAt, next.getTime());
    this.report(job, 'pending', attempts, { error, next_attempt_at: next.toISOString() });
  }

  private failedUnexpectedly(job: Prepared, err: unknown): void {
    this.options.onError?.(err);
    // Lost: another process holds the delivery now. Abandoned: the next run does it.
    if (err instanceof ClaimLostError || this.abandoned) return;
    // Transient, or failing the delivery itself failed: try again later.
    if (isTransientStoreError(err) || job.work === undefined) {
      this.stuck.set(job.id, { job, until: Date.now() + STUCK_RETRY_MS });
      return;
    }
    // A write that this delivery's own data makes fail (a constraint) would fail the same way again.
    const error = `could not be stored: ${errorMessage(err)}`;
    this.stuck.set(job.id, { job: { ...job, work: undefined, invalid: error }, until: Date.now() });
    this.kick();
  }

  private report(
    job: WorkJob,
    status: WorkEvent['status'],
    attempts: number,
    extra: Partial<Pick<WorkEvent, 'documents' | 'samples' | 'deleted' | 'older' | 'error' | 'next_attempt_at'>>,
  ): void {
    if (this.abandoned) return;
    this.options.onEvent?.({
      type: 'work',
      id: job.id,
      provider: job.provider,
      event_type: job.eventType,
      user_id: job.userId,
      status,
      attempts,
      documents: extra.documents ?? 0,
      samples: extra.samples ?? 0,
      deleted: extra.deleted ?? 0,
      older: extra.older ?? 0,
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.next_attempt_at !== undefined ? { next_attempt_at: extra.next_attempt_at } : {}),
    });
  }
}

function jobOfRow(row: DeliveryRow): WorkJob {
  const headers: Record<string, string> = {};
  for (const [name, value] of headerPairs(row)) headers[name.toLowerCase()] ??= value;
  return {
    id: row.id,
    provider: row.provider,
    eventType: row.event_type,
    userId: row.user_id,
    attempts: row.attempts,
    bytes: row.body.length,
    body: row.body,
    receivedAt: new Date(row.received_at),
    headers,
  };
}

/** The time windows a store step touched, per user: its samples' span and its sleeps' periods. */
function* attributeToSleep(work: Extract<Work, { kind: 'store' }>, seriesTypes: readonly string[]): Op<void> {
  const windows: { provider: string; userId: string; fromMs: number; toMs: number }[] = [];
  for (const doc of work.documents) {
    const from = Date.parse(doc.startTime ?? '');
    const to = Date.parse(doc.endTime ?? '');
    if (doc.type === 'sleep' && Number.isFinite(from) && Number.isFinite(to)) windows.push({ provider: doc.provider, userId: doc.userId, fromMs: from, toMs: to });
  }
  const spans = new Map<string, { provider: string; userId: string; fromMs: number; toMs: number }>();
  for (const sample of work.samples) {
    const at = Date.parse(sample.timestamp);
    if (!Number.isFinite(at)) continue;
    const key = `${sample.provider}\u0000${sample.userId}`;
    const span = spans.get(key) ?? { provider: sample.provider, userId: sample.userId, fromMs: at, toMs: at };
    span.fromMs = Math.min(span.fromMs, at);
    span.toMs = Math.max(span.toMs, at);
    spans.set(key, span);
  }
  // One user after another in a fixed order: two transactions locking several users (attributeSamplesToSleepDaysOp) never wait on each other in a circle.
  const userOf = (w: { provider: string; userId: string }) => `${w.provider}\u0000${w.userId}`;
  const byUser = [...windows, ...spans.values()].sort((x, y) => (userOf(x) < userOf(y) ? -1 : userOf(x) > userOf(y) ? 1 : 0));
  for (const window of byUser) yield* attributeSamplesToSleepDaysOp({ ...window, seriesTypes });
}
