import type { DB } from '../store/db.js';
import {
  dueDeliveries,
  getDelivery,
  markFailed,
  markProcessed,
  nextAttemptAt,
  scheduleRetry,
  type DeliveryRow,
  type DeliveryStatus,
} from '../store/deliveries.js';
import { markDocumentDeleted, upsertDocument } from '../store/documents.js';
import { attributeSamplesToSleepDays, upsertSamples } from '../store/samples.js';
import { ouraDocumentInput } from '../providers/oura/documents.js';
import type { Provider, ProviderName, Work } from '../providers/types.js';
import { errorMessage } from '../errors.js';
import { GroupCommit } from './group-commit.js';

/**
 * Fetch one Oura document with the user's token. `null` means Oura answered 404 (it happens
 * right after a notification: retried later); any other failure throws (also retried).
 */
export type FetchOuraDocument = (userId: string, dataType: string, objectId: string) => Promise<unknown | null>;

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
  error?: string;
  next_attempt_at?: string;
}

export interface WorkQueueOptions {
  db: DB;
  /** Where the work's writes are committed; the receiver shares its own, so deliveries and documents share fsyncs. */
  commits?: GroupCommit;
  providers: ReadonlyMap<ProviderName, Provider>;
  fetchOuraDocument: FetchOuraDocument;
  /** Oura fetches at once (default 4); normalising payloads that carry their data is not limited by it. */
  concurrency?: number;
  /** Fetch attempts before a delivery is `failed` (default 8, about three hours of retries). */
  maxAttempts?: number;
  /** Wait before attempt `attempt + 1`. */
  retryDelayMs?: (attempt: number) => number;
  onEvent?: (event: WorkEvent) => void;
  /** An unexpected failure of the queue itself (e.g. the database went away). */
  onError?: (err: unknown) => void;
}

/**
 * How long a row whose work failed unexpectedly (the database refused a write: disk full,
 * read-only) waits before it is tried again: long enough never to spin, short enough that
 * the work catches up soon after the database takes writes again.
 */
export const STUCK_RETRY_MS = 10_000;

/** Rows looked at per pass: work that needs no fetch is started for all of them at once, and commits together. */
const BATCH = 128;

/** 10 s, 30 s, 90 s, ... capped at an hour. */
export function defaultRetryDelayMs(attempt: number): number {
  return Math.min(3_600_000, 10_000 * 3 ** (attempt - 1));
}

/**
 * The work after the acknowledgement, off the request path. The delivery log is the queue:
 * every `received` or due `pending` row is picked up, so work cut short by a stop or a
 * crash simply resumes on the next start. Oura fetches run with bounded concurrency and
 * are retried with backoff until `maxAttempts`; payloads that carry their data are
 * normalised in batches (their writes share a commit). Kicks within one turn of the event
 * loop make one pass over the queue.
 */
export class WorkQueue {
  private readonly busy = new Map<number, Promise<void>>();
  /** Busy rows that are Oura deliveries (a fetch, bounded by `concurrency`). */
  private fetching = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** Rows whose work failed unexpectedly (e.g. the database refused a write), with when they may be tried again. */
  private readonly stuck = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Set once stop() stops waiting: late results are dropped, their rows stay pending. */
  private abandoned = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly retryDelayMs: (attempt: number) => number;
  private readonly commits: GroupCommit;

  constructor(private readonly options: WorkQueueOptions) {
    this.commits = options.commits ?? new GroupCommit(options.db);
    this.concurrency = options.concurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryDelayMs = options.retryDelayMs ?? defaultRetryDelayMs;
  }

  /** Look for due work soon (call after storing a delivery, and once at start-up). */
  kick(): void {
    if (this.stopping || this.scheduled) return;
    this.scheduled = setImmediate(() => this.pass());
  }

  private pass(): void {
    this.scheduled = undefined;
    try {
      this.pump();
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /** Resolves when nothing is running and nothing is due right now. */
  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  /** Start nothing new; give running work up to `graceMs` to finish. */
  async stop(graceMs = 5_000): Promise<void> {
    // Work kicked by the last requests still starts, and gets the same grace as the rest.
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.pass();
    }
    this.stopping = true;
    clearTimeout(this.timer);
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.busy.values()]),
      new Promise<void>((resolve) => {
        timeout = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timeout);
    this.abandoned = true;
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const { db } = this.options;
    const now = Date.now();
    for (const [id, until] of this.stuck) if (until <= now) this.stuck.delete(id);
    const skip = [...this.busy.keys(), ...this.stuck.keys()];
    for (const due of dueDeliveries(db, new Date(now), BATCH, skip)) {
      const fetches = due.provider === 'oura';
      if (fetches && this.fetching >= this.concurrency) continue;
      const row = getDelivery(db, due.id);
      if (!row) continue;
      if (fetches) this.fetching++;
      const task = this.run(row)
        .catch((err: unknown) => {
          this.stuck.set(row.id, Date.now() + STUCK_RETRY_MS);
          this.options.onError?.(err);
        })
        .finally(() => {
          this.busy.delete(row.id);
          if (fetches) this.fetching--;
          this.kick();
        });
      this.busy.set(row.id, task);
    }
    if (this.busy.size === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
    const due = nextAttemptAt(db, [...this.busy.keys(), ...this.stuck.keys()]);
    const next = Math.min(due ? Date.parse(due) : Infinity, ...this.stuck.values());
    // Work due now but not started (all fetch slots taken) starts when running work finishes: it kicks.
    if (next < Infinity && (next > now || this.busy.size === 0)) this.timer = setTimeout(() => this.kick(), Math.max(0, next - now));
  }

  private async run(row: DeliveryRow): Promise<void> {
    const { db, providers } = this.options;
    const attempts = row.attempts + 1;
    let work: Work;
    try {
      const provider = providers.get(row.provider as ProviderName);
      if (!provider) throw new Error(`no provider "${row.provider}"`);
      work = provider.work(JSON.parse(row.body.toString('utf8')));
    } catch (err) {
      markFailed(db, row.id, attempts, errorMessage(err));
      this.report(row, 'failed', attempts, { error: errorMessage(err) });
      return;
    }

    if (work.kind === 'store') {
      const counts = await this.commits.run(() => {
        for (const doc of work.documents) upsertDocument(db, doc);
        const samples = upsertSamples(db, work.samples);
        let deleted = 0;
        for (const ref of work.deletions) deleted += markDocumentDeleted(db, ref.provider, ref.type, ref.id) ? 1 : 0;
        if (work.sleepDaySeries) attributeToSleep(db, work, work.sleepDaySeries);
        markProcessed(db, row.id, attempts);
        return { documents: work.documents.length, samples, deleted };
      });
      this.report(row, 'processed', attempts, counts);
      return;
    }

    let doc: unknown;
    try {
      doc = await this.options.fetchOuraDocument(work.userId, work.dataType, work.objectId);
    } catch (err) {
      if (!this.abandoned) this.retryOrFail(row, attempts, errorMessage(err));
      return;
    }
    if (this.abandoned) return;
    if (doc === null) {
      this.retryOrFail(row, attempts, `Oura has no ${work.dataType} document ${work.objectId} yet (404)`);
      return;
    }
    try {
      await this.commits.run(() => {
        upsertDocument(db, ouraDocumentInput(work.dataType, work.userId, doc, 'webhook'));
        markProcessed(db, row.id, attempts);
      });
    } catch (err) {
      markFailed(db, row.id, attempts, errorMessage(err));
      this.report(row, 'failed', attempts, { error: errorMessage(err) });
      return;
    }
    this.report(row, 'processed', attempts, { documents: 1 });
  }

  private retryOrFail(row: DeliveryRow, attempts: number, error: string): void {
    const { db } = this.options;
    if (attempts >= this.maxAttempts) {
      const message = `gave up after ${attempts} attempts: ${error}`;
      markFailed(db, row.id, attempts, message);
      this.report(row, 'failed', attempts, { error: message });
      return;
    }
    const next = new Date(Date.now() + this.retryDelayMs(attempts));
    scheduleRetry(db, row.id, attempts, next, error);
    this.report(row, 'pending', attempts, { error, next_attempt_at: next.toISOString() });
  }

  private report(
    row: DeliveryRow,
    status: WorkEvent['status'],
    attempts: number,
    extra: Partial<Pick<WorkEvent, 'documents' | 'samples' | 'deleted' | 'error' | 'next_attempt_at'>>,
  ): void {
    this.options.onEvent?.({
      type: 'work',
      id: row.id,
      provider: row.provider,
      event_type: row.event_type,
      user_id: row.user_id,
      status,
      attempts,
      documents: extra.documents ?? 0,
      samples: extra.samples ?? 0,
      deleted: extra.deleted ?? 0,
      ...(extra.error !== undefined ? { error: extra.error } : {}),
      ...(extra.next_attempt_at !== undefined ? { next_attempt_at: extra.next_attempt_at } : {}),
    });
  }
}

/** The time windows a store step touched, per user: its samples' span and its sleeps' periods. */
function attributeToSleep(db: DB, work: Extract<Work, { kind: 'store' }>, seriesTypes: readonly string[]): void {
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
  for (const window of [...windows, ...spans.values()]) attributeSamplesToSleepDays(db, { ...window, seriesTypes });
}
