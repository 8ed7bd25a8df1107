import type { DB } from './db.js';
import { cachedStatement } from './statements.js';

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
}

export function headerPairs(row: Pick<DeliveryRow, 'headers'>): HeaderPairs {
  return JSON.parse(row.headers) as HeaderPairs;
}

/**
 * Store a verified delivery (status `received`, due at once). A delivery whose dedupe key
 * is already stored is not stored again: the first one's id comes back with `duplicate`.
 */
export function insertDelivery(db: DB, d: DeliveryInput): { id: number; duplicate: boolean } {
  const insert = cachedStatement(
    db,
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, event_type, user_id, status, next_attempt_at)
     VALUES (@provider, @receivedAt, @method, @path, @headers, @body, 1, @dedupeKey, @eventType, @userId, 'received', @receivedAt)
     ON CONFLICT (dedupe_key) DO NOTHING`,
  );
  const store = () => {
    const result = insert.run({
      provider: d.provider,
      receivedAt: d.receivedAt.toISOString(),
      method: d.method,
      path: d.path,
      headers: JSON.stringify(d.headers),
      body: d.body,
      dedupeKey: d.dedupeKey,
      eventType: d.eventType,
      userId: d.userId,
    });
    if (result.changes > 0) return { id: Number(result.lastInsertRowid), duplicate: false };
    const existing = cachedStatement(db, 'SELECT id FROM deliveries WHERE dedupe_key = ?').get(d.dedupeKey) as { id: number };
    return { id: existing.id, duplicate: true };
  };
  // Within the receiver's group commit it is already inside a transaction: one statement needs no savepoint of its own.
  return db.inTransaction ? store() : db.transaction(store).immediate();
}

export function getDelivery(db: DB, id: number): DeliveryRow | undefined {
  return cachedStatement(db, 'SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
}

export interface DeliveryFilter {
  provider?: string;
  status?: string;
  since?: Date;
  until?: Date;
  limit?: number;
}

/** Newest first. */
export function listDeliveries(db: DB, filter: DeliveryFilter = {}): DeliveryRow[] {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: filter.limit ?? -1 };
  if (filter.provider) {
    where.push('provider = @provider');
    params.provider = filter.provider;
  }
  if (filter.status) {
    where.push('status = @status');
    params.status = filter.status;
  }
  if (filter.since) {
    where.push('received_at >= @since');
    params.since = filter.since.toISOString();
  }
  if (filter.until) {
    where.push('received_at <= @until');
    params.until = filter.until.toISOString();
  }
  const sql = `SELECT * FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT @limit`;
  return db.prepare(sql).all(params) as DeliveryRow[];
}

/** Oldest first: the order they arrived in, for replay. */
export function deliveriesSince(db: DB, since: Date): DeliveryRow[] {
  return db.prepare('SELECT * FROM deliveries WHERE received_at >= ? ORDER BY received_at, id').all(since.toISOString()) as DeliveryRow[];
}

/** Statuses of the work still to do: `received`, and `pending` retries. */
const OPEN_STATUSES = ['received', 'pending'] as const;

/** A row of the queue: enough to decide whether to start it (`getDelivery` loads the rest). */
export interface DueDelivery {
  id: number;
  provider: string;
  next_attempt_at: string;
}

/**
 * Work that is due: `received`, or `pending` whose next attempt has come, oldest first; `busy`
 * ids are being worked on. One query per status, each read in index order and stopped at
 * `limit`: a single query over both would sort the whole backlog every time.
 */
export function dueDeliveries(db: DB, now: Date, limit: number, busy: readonly number[]): DueDelivery[] {
  const statement = cachedStatement(
    db,
    `SELECT id, provider, next_attempt_at FROM deliveries
     WHERE status = ? AND next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?))
     ORDER BY next_attempt_at, id LIMIT ?`,
  );
  const skip = JSON.stringify(busy);
  const rows = OPEN_STATUSES.flatMap((status) => statement.all(status, now.toISOString(), skip, limit) as DueDelivery[]);
  const order = (a: DueDelivery, b: DueDelivery) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : a.id - b.id);
  return rows.sort(order).slice(0, limit);
}

/** When the next piece of work falls due, if any (ISO 8601). */
export function nextAttemptAt(db: DB, busy: readonly number[]): string | undefined {
  const statement = cachedStatement(
    db,
    `SELECT next_attempt_at AS at FROM deliveries
     WHERE status = ? AND next_attempt_at IS NOT NULL AND id NOT IN (SELECT value FROM json_each(?))
     ORDER BY next_attempt_at LIMIT 1`,
  );
  const skip = JSON.stringify(busy);
  const times = OPEN_STATUSES.map((status) => (statement.get(status, skip) as { at: string | null } | undefined)?.at).filter((at): at is string => !!at);
  return times.sort()[0];
}

export function markProcessed(db: DB, id: number, attempts: number, now = new Date()): void {
  cachedStatement(
    db,
    `UPDATE deliveries SET status = 'processed', attempts = ?, error = NULL, next_attempt_at = NULL, processed_at = ? WHERE id = ?`,
  ).run(attempts, now.toISOString(), id);
}

export function scheduleRetry(db: DB, id: number, attempts: number, nextAttempt: Date, error: string): void {
  db.prepare(`UPDATE deliveries SET status = 'pending', attempts = ?, next_attempt_at = ?, error = ? WHERE id = ?`).run(
    attempts,
    nextAttempt.toISOString(),
    error,
    id,
  );
}

export function markFailed(db: DB, id: number, attempts: number, error: string, now = new Date()): void {
  db.prepare(
    `UPDATE deliveries SET status = 'failed', attempts = ?, error = ?, next_attempt_at = NULL, processed_at = ? WHERE id = ?`,
  ).run(attempts, error, now.toISOString(), id);
}
