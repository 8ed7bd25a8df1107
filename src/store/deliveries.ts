import type { DB } from './db.js';
import { cachedStatement } from './statements.js';
import { claimDue, finishClaim, type WorkTable } from './claims.js';

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
  const insert = cachedStatement(
    db,
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, event_type, user_id, status, next_attempt_at, claim_owner, claim_until)
     VALUES (@provider, @receivedAt, @method, @path, @headers, @body, 1, @dedupeKey, @eventType, @userId, 'received', @receivedAt, @claimOwner, @claimUntil)
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
      claimOwner: d.claim?.owner ?? null,
      claimUntil: d.claim?.until ?? null,
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
  const claimed: DeliveryRow[] = [];
  for (const status of OPEN_STATUSES) {
    if (claimed.length >= limit) break;
    claimed.push(
      ...claimDue<DeliveryRow & Record<string, unknown>>(db, DELIVERY_WORK, {
        owner,
        due: `status = '${status}' AND next_attempt_at <= @nowIso`,
        order: 'next_attempt_at, id',
        limit: limit - claimed.length,
        params: { nowIso: new Date(now).toISOString() },
        leaseMs: options.leaseMs,
        now,
      }),
    );
  }
  return claimed;
}

/** When the next unclaimed piece of work falls due, if any (epoch ms); work nobody holds that is due now gives `now`. */
export function nextDueAt(db: DB, now = Date.now()): number | undefined {
  const statement = cachedStatement(
    db,
    `SELECT next_attempt_at AS at FROM deliveries
     WHERE status = ? AND next_attempt_at IS NOT NULL AND (claim_owner IS NULL OR claim_until <= ?)
     ORDER BY next_attempt_at LIMIT 1`,
  );
  const times = OPEN_STATUSES.map((status) => (statement.get(status, now) as { at: string } | undefined)?.at)
    .filter((at): at is string => !!at)
    .map((at) => Date.parse(at));
  return times.length ? Math.min(...times) : undefined;
}

/**
 * The outcome of a delivery's work, recorded only while `owner` still holds its claim (which
 * it drops): otherwise ClaimLostError, and the transaction it runs in is undone.
 */
export function markProcessed(db: DB, owner: string, id: number, attempts: number, now = new Date()): void {
  finishClaim(db, DELIVERY_WORK, owner, id);
  cachedStatement(
    db,
    `UPDATE deliveries SET status = 'processed', attempts = ?, error = NULL, next_attempt_at = NULL, processed_at = ? WHERE id = ?`,
  ).run(attempts, now.toISOString(), id);
}

/** A failed attempt to be tried again at `nextAttempt`, by whichever process claims it then. */
export function scheduleRetry(db: DB, owner: string, id: number, attempts: number, nextAttempt: Date, error: string): void {
  finishClaim(db, DELIVERY_WORK, owner, id);
  cachedStatement(db, `UPDATE deliveries SET status = 'pending', attempts = ?, next_attempt_at = ?, error = ? WHERE id = ?`).run(
    attempts,
    nextAttempt.toISOString(),
    error,
    id,
  );
}

export function markFailed(db: DB, owner: string, id: number, attempts: number, error: string, now = new Date()): void {
  finishClaim(db, DELIVERY_WORK, owner, id);
  cachedStatement(
    db,
    `UPDATE deliveries SET status = 'failed', attempts = ?, error = ?, next_attempt_at = NULL, processed_at = ? WHERE id = ?`,
  ).run(attempts, error, now.toISOString(), id);
}

/**
 * A delivery that waits for its user to authorize wearhook: `pending` without a next attempt
 * (so nothing claims it), its attempts unchanged, until `wakeDeliveriesOf` makes it due.
 */
export function parkDelivery(db: DB, owner: string, id: number, reason: string): void {
  finishClaim(db, DELIVERY_WORK, owner, id);
  cachedStatement(db, `UPDATE deliveries SET status = 'pending', next_attempt_at = NULL, error = ? WHERE id = ?`).run(reason, id);
}

/** The user has authorized: their waiting deliveries are due now (any receiver on this database picks them up). Returns how many. */
export function wakeDeliveriesOf(db: DB, provider: string, userId: string, now = new Date()): number {
  return db
    .prepare(
      `UPDATE deliveries SET next_attempt_at = ?
       WHERE provider = ? AND user_id = ? AND status = 'pending' AND next_attempt_at IS NULL`,
    )
    .run(now.toISOString(), provider, userId).changes;
}
