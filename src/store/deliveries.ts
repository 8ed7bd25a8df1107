import type { DB } from './db.js';
import { cachedStatement } from './statements.js';
import { claimDueOp, finishClaimOp, type WorkTable } from './claims.js';
import { dialect, get, lock, run, type Op } from './sql.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';

/**
 * The delivery log. A row is written, committed, and only then acknowledged; it is also the
 * durable work queue: `received` and `pending` rows are what is left to do after a stop or a crash.
 */
export const DELIVERY_STATUSES = ['received', 'pending', 'processed', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const STATUS_MEANING: Record<DeliveryStatus, string> = {
  received: 'stored and acknowledged; normalising it is next',
  pending: 'waiting for its Oura document fetch (or retrying it after a failure)',
  processed: 'done: its documents or samples are stored (or it carried none)',
  failed: 'gave up after retries or could not be normalised; see its error',
};

export type HeaderPairs = [name: string, value: string][];

export interface DeliveryInput {
  provider: string;
  receivedAt: Date;
  method: string;
  path: string;
  /** As received: original names, order and repeats. */
  headers: HeaderPairs;
  body: Buffer;
  dedupeKey: string;
  eventType: string | null;
  userId: string | null;
  /** Claim the delivery's work for this owner until then (epoch ms): the receiver does the work it just stored. */
  claim?: { owner: string; until: number };
}

export interface DeliveryRow {
  id: number;
  provider: string;
  received_at: string;
  method: string;
  path: string;
  headers: string;
  body: Buffer;
  verified: number;
  dedupe_key: string;
  event_type: string | null;
  user_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  error: string | null;
  processed_at: string | null;
  claim_owner: string | null;
  claim_until: number | null;
}

export function headerPairs(row: Pick<DeliveryRow, 'headers'>): HeaderPairs {
  return JSON.parse(row.headers) as HeaderPairs;
}

/**
 * Store a verified delivery (status `received`, due at once). A delivery whose dedupe key
 * is already stored is not stored again: the first one's id comes back with `duplicate`.
 */
export function insertDelivery(db: DB, d: DeliveryInput): { id: number; duplicate: boolean } {
  // Within the receiver's group commit it is already inside a transaction: one statement needs no savepoint of its own.
  return transactSqlite(db, insertDeliveryOp, d);
}

/**
 * insertDelivery as a store operation. On PostgreSQL a second receiver inserting the same key
 * at the same time waits for the first one's commit, then finds its row: stored once either way.
 */
export function* insertDeliveryOp(d: DeliveryInput): Op<{ id: number; duplicate: boolean }> {
  // Before the id is handed out (deliveryHorizonOp).
  if ((yield* dialect()) === 'postgres') yield* lock(DELIVERY_INSERT_LOCK, { shared: true });
  const inserted = yield* get<{ id: number }>(
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, event_type, user_id, status, next_attempt_at, claim_owner, claim_until)
     VALUES (@provider, @receivedAt, @method, @path, @headers, @body, 1, @dedupeKey, @eventType, @userId, 'received', @receivedAt, @claimOwner, @claimUntil)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id`,
    {
      provider: d.provider,
      receivedAt: d.receivedAt.toISOString(),
      method: d.method,
      path: d.path,
      headers: JSON.stringify(d.headers),
      body: d.body,
      dedupeKey: d.dedupeKey,
      eventType: d.eventType,
      userId: d.userId,
      claimOwner: d.claim?.owner ?? null,
      claimUntil: d.claim?.until ?? null,
    },
  );
  if (inserted) return { id: Number(inserted.id), duplicate: false };
  const existing = yield* get<{ id: number }>('SELECT id FROM deliveries WHERE dedupe_key = ?', [d.dedupeKey]);
  return { id: Number(existing!.id), duplicate: true };
}

export function getDelivery(db: DB, id: number): DeliveryRow | undefined {
  return runSqlite(db, getDeliveryOp(id));
}

export function* getDeliveryOp(id: number): Op<DeliveryRow | undefined> {
  return yield* get<DeliveryRow>('SELECT * FROM deliveries WHERE id = ?', [id]);
}

/**
 * The advisory lock that orders delivery ids against those who read the log by id (the
 * outbox's cursors, `events tail --follow`). SQLite commits one writer at a time, so its ids
 * become visible in order. PostgreSQL hands ids out as rows are inserted and shows them as
 * their transactions commit, in any order: a reader that moved past id 11 would never see id 10
 * committed a moment later. So on PostgreSQL every insert of a delivery holds this lock shared
 * (insertDeliveryOp), and deliveryHorizonOp takes it alone for an instant.
 */
export const DELIVERY_INSERT_LOCK = 'deliveries:insert';

/**
 * The highest delivery id below which no delivery can still appear: how far a reader by id may
 * move. On SQLite simply the highest id. On PostgreSQL run it as a transaction of its own
 * (Store.run), just before reading: once it holds the lock every id handed out so far is
 * committed or undone; it waits for the inserts under way (milliseconds) and holds new ones
 * back only that long. A reader that has read up to `after` and finds nothing newer committed
 * gets the highest id at once, without the lock (an idle poll holds nobody back).
 */
export function* deliveryHorizonOp(after = -1): Op<number> {
  const newest = yield* newestDeliveryIdOp();
  if (newest <= after || (yield* dialect()) === 'sqlite') return newest;
  yield* lock(DELIVERY_INSERT_LOCK);
  return yield* newestDeliveryIdOp();
}

function* newestDeliveryIdOp(): Op<number> {
  return Number((yield* get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM deliveries'))!.id);
}

/** Statuses of the work still to do: `received`, and `pending` retries. */
const OPEN_STATUSES = ['received', 'pending'] as const;

/** The work table of the delivery log, for claims.ts. */
export const DELIVERY_WORK: WorkTable = { table: 'deliveries', key: 'id' };

/**
 * Claim up to `limit` deliveries whose work is due and that no process holds: `received`
 * first, then `pending` whose next attempt has come, each oldest first (read in index order,
 * one status at a time: a query over both would sort the whole backlog).
 */
export function claimDueDeliveries(db: DB, owner: string, limit: number, options: { now?: number; leaseMs?: number } = {}): DeliveryRow[] {
  const now = options.now ?? Date.now();
  // Look before taking the write lock: most passes find nothing, and two receivers would otherwise queue on each other.
  const any = cachedStatement(db, `SELECT 1 FROM deliveries WHERE status = ? AND next_attempt_at <= ? AND (claim_owner IS NULL OR claim_until <= ?) LIMIT 1`);
  const nowIso = new Date(now).toISOString();
  if (!OPEN_STATUSES.some((status) => any.get(status, nowIso, now))) return [];
  return transactSqlite(db, claimDueDeliveriesOp, owner, limit, { ...options, now });
}

/** claimDueDeliveries as a store operation (PostgreSQL: the due rows are taken with SKIP LOCKED). */
export function* claimDueDeliveriesOp(owner: string, limit: number, options: { now?: number; leaseMs?: number } = {}): Op<DeliveryRow[]> {
  const now = options.now ?? Date.now();
  const claimed: DeliveryRow[] = [];
  for (const status of OPEN_STATUSES) {
    if (claimed.length >= limit) break;
    claimed.push(
      ...(yield* claimDueOp<DeliveryRow & Record<string, unknown>>(DELIVERY_WORK, {
        owner,
        due: `status = '${status}' AND next_attempt_at <= @nowIso`,
        order: 'next_attempt_at, id',
        limit: limit - claimed.length,
        params: { nowIso: new Date(now).toISOString() },
        leaseMs: options.leaseMs,
        now,
      })),
    );
  }
  return claimed;
}

/** nextDueAt as a store operation. */
export function* nextDueAtOp(now = Date.now()): Op<number | undefined> {
  const times: number[] = [];
  for (const status of OPEN_STATUSES) {
    const row = yield* get<{ at: string }>(
      `SELECT next_attempt_at AS at FROM deliveries
       WHERE status = ? AND next_attempt_at IS NOT NULL AND (claim_owner IS NULL OR claim_until <= ?)
       ORDER BY next_attempt_at LIMIT 1`,
      [status, now],
    );
    if (row?.at) times.push(Date.parse(row.at));
  }
  return times.length ? Math.min(...times) : undefined;
}

/** When the next unclaimed piece of work falls due, if any (epoch ms); work nobody holds that is due now gives `now`. */
export function nextDueAt(db: DB, now = Date.now()): number | undefined {
  return runSqlite(db, nextDueAtOp(now));
}

/**
 * The outcome of a delivery's work, recorded only while `owner` still holds its claim (which
 * it drops): otherwise ClaimLostError, and the transaction it runs in is undone.
 */
export function markProcessed(db: DB, owner: string, id: number, attempts: number, now = new Date()): void {
  runSqlite(db, markProcessedOp(owner, id, attempts, now));
}

export function* markProcessedOp(owner: string, id: number, attempts: number, now = new Date()): Op<void> {
  yield* finishClaimOp(DELIVERY_WORK, owner, id);
  yield* run(`UPDATE deliveries SET status = 'processed', attempts = ?, error = NULL, next_attempt_at = NULL, processed_at = ? WHERE id = ?`, [
    attempts,
    now.toISOString(),
    id,
  ]);
}

/** A failed attempt to be tried again at `nextAttempt`, by whichever process claims it then. */
export function scheduleRetry(db: DB, owner: string, id: number, attempts: number, nextAttempt: Date, error: string): void {
  runSqlite(db, scheduleRetryOp(owner, id, attempts, nextAttempt, error));
}

export function* scheduleRetryOp(owner: string, id: number, attempts: number, nextAttempt: Date, error: string): Op<void> {
  yield* finishClaimOp(DELIVERY_WORK, owner, id);
  yield* run(`UPDATE deliveries SET status = 'pending', attempts = ?, next_attempt_at = ?, error = ? WHERE id = ?`, [attempts, nextAttempt.toISOString(), error, id]);
}

export function markFailed(db: DB, owner: string, id: number, attempts: number, error: string, now = new Date()): void {
  runSqlite(db, markFailedOp(owner, id, attempts, error, now));
}

export function* markFailedOp(owner: string, id: number, attempts: number, error: string, now = new Date()): Op<void> {
  yield* finishClaimOp(DELIVERY_WORK, owner, id);
  yield* run(`UPDATE deliveries SET status = 'failed', attempts = ?, error = ?, next_attempt_at = NULL, processed_at = ? WHERE id = ?`, [
    attempts,
    error,
    now.toISOString(),
    id,
  ]);
}

/**
 * A delivery that waits for its user to authorize wearhook: `pending` without a next attempt
 * (so nothing claims it), its attempts unchanged, until `wakeDeliveriesOfOp` makes it due.
 */
export function parkDelivery(db: DB, owner: string, id: number, reason: string): void {
  runSqlite(db, parkDeliveryOp(owner, id, reason));
}

export function* parkDeliveryOp(owner: string, id: number, reason: string): Op<void> {
  yield* finishClaimOp(DELIVERY_WORK, owner, id);
  yield* run(`UPDATE deliveries SET status = 'pending', next_attempt_at = NULL, error = ? WHERE id = ?`, [reason, id]);
}

/** The user has authorized: their waiting deliveries are due now (any receiver on this database picks them up). Returns how many. */
export function* wakeDeliveriesOfOp(provider: string, userId: string, now = new Date()): Op<number> {
  const result = yield* run(
    `UPDATE deliveries SET next_attempt_at = ?
     WHERE provider = ? AND user_id = ? AND status = 'pending' AND next_attempt_at IS NULL`,
    [now.toISOString(), provider, userId],
  );
  return result.changes;
}
