import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { DB } from './db.js';
import { cachedStatement } from './statements.js';
import { all, dialect, run, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * Work claims: each piece of post-acknowledgement work (normalising a delivery, an Oura
 * fetch, a forward, a hook) is done by exactly one process, so several `listen` processes
 * may share one database.
 *
 * A work table carries two columns, `claim_owner` (who holds the row) and `claim_until` (epoch
 * milliseconds when the claim lapses unless renewed). A claim is taken atomically (one UPDATE
 * under SQLite's write lock; on PostgreSQL `FOR UPDATE SKIP LOCKED`, claimDueOp), renewed while the
 * work runs, and dropped in the same transaction that records the work's outcome, which only
 * succeeds while the claim is still held (a fence: work whose claim lapsed and was taken by
 * another process is rolled back rather than recorded twice).
 *
 * A claim whose owner died is free once it lapses; one held by a process of this machine that
 * no longer exists is free at once (a restart after a crash resumes without waiting).
 */

/** A table whose rows are claimed: its name and its integer key column. */
export interface WorkTable {
  readonly table: string;
  readonly key: string;
}

/** How long a claim lasts unless renewed; holders renew every third of it. */
export const DEFAULT_LEASE_MS = 30_000;

/*
 * A work table's migration adds (written out in the migration, as for `deliveries` in 5):
 *   ALTER TABLE t ADD COLUMN claim_owner TEXT;
 *   ALTER TABLE t ADD COLUMN claim_until INTEGER;
 *   CREATE INDEX t_by_claim_owner ON t(claim_owner) WHERE claim_owner IS NOT NULL;
 * The partial index holds only rows being worked on, so finding or renewing an owner's claims stays cheap.
 */

/** A row is free to claim when nobody holds it or its claim has lapsed (SQL, with `@now` in epoch ms). */
export const UNCLAIMED_SQL = '(claim_owner IS NULL OR claim_until <= @now)';

/** A process's identity as a claim owner: `<host>/<pid>/<random>` (several owners may share a process). */
export function newClaimOwner(): string {
  return `${os.hostname()}/${process.pid}/${randomBytes(6).toString('hex')}`;
}

/** Whether `owner` names a process of this machine that no longer exists. */
export function ownerIsGone(owner: string): boolean {
  const parts = owner.split('/');
  if (parts.length < 3) return false;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join('/');
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface ClaimDueOptions {
  owner: string;
  /** SQL condition of the rows that are due (named parameters from `params`, and `@now` in epoch ms). */
  due: string;
  /** SQL ORDER BY of the due rows: the oldest first. */
  order: string;
  limit: number;
  params?: Record<string, unknown>;
  leaseMs?: number;
  now?: number;
}

/**
 * Claim up to `limit` due rows nobody holds, atomically, and return them whole (in `order`).
 * Runs as its own write; inside a transaction it joins it.
 */
export function claimDue<Row extends Record<string, unknown>>(db: DB, t: WorkTable, options: ClaimDueOptions): Row[] {
  const now = options.now ?? Date.now();
  const until = now + (options.leaseMs ?? DEFAULT_LEASE_MS);
  const params = { ...options.params, now, owner: options.owner, until, limit: options.limit };
  const due = `(${options.due}) AND ${UNCLAIMED_SQL}`;
  // Look before taking the write lock: most passes find nothing, and two receivers would otherwise queue on each other.
  const any = cachedStatement(db, `SELECT 1 FROM ${t.table} WHERE ${due} LIMIT 1`);
  if (!any.get(params)) return [];
  const claim = cachedStatement(
    db,
    `UPDATE ${t.table} SET claim_owner = @owner, claim_until = @until
     WHERE ${t.key} IN (SELECT ${t.key} FROM ${t.table} WHERE ${due} ORDER BY ${options.order} LIMIT @limit)
     RETURNING *`,
  );
  const rows = (db.inTransaction ? claim.all(params) : db.transaction(() => claim.all(params)).immediate()) as Row[];
  return sortLike(rows, t.key, options.order);
}

/** RETURNING gives no order; the claimed rows come back in the order asked for, tie-broken by key. */
function sortLike<Row extends Record<string, unknown>>(rows: Row[], key: string, order: string): Row[] {
  const columns = order.split(',').map((part) => {
    const [name, direction] = part.trim().split(/\s+/);
    return { name: name!, sign: direction?.toUpperCase() === 'DESC' ? -1 : 1 };
  });
  columns.push({ name: key, sign: 1 });
  return rows.sort((a, b) => {
    for (const { name, sign } of columns) {
      const x = a[name] as string | number | null;
      const y = b[name] as string | number | null;
      if (x === y) continue;
      if (x === null) return -sign;
      if (y === null) return sign;
      return x < y ? -sign : sign;
    }
    return 0;
  });
}

/**
 * The same claim as one store operation, for either engine. On PostgreSQL the due rows are
 * locked with `FOR UPDATE SKIP LOCKED`: two receivers claiming at once each take other rows
 * instead of waiting for each other (SQLite's single writer already serialises them).
 */
export function* claimDueOp<Row extends Record<string, unknown>>(t: WorkTable, options: ClaimDueOptions): Op<Row[]> {
  const now = options.now ?? Date.now();
  const until = now + (options.leaseMs ?? DEFAULT_LEASE_MS);
  const params = { ...options.params, now, owner: options.owner, until, limit: options.limit };
  const due = `(${options.due}) AND ${UNCLAIMED_SQL}`;
  const skipLocked = (yield* dialect()) === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  const rows = yield* all<Row>(
    `UPDATE ${t.table} SET claim_owner = @owner, claim_until = @until
     WHERE ${t.key} IN (SELECT ${t.key} FROM ${t.table} WHERE ${due} ORDER BY ${options.order} LIMIT @limit${skipLocked})
     RETURNING *`,
    params,
  );
  return sortLike(rows, t.key, options.order);
}

/** Extend every claim `owner` holds in `t`; returns how many it holds. */
export function renewClaims(db: DB, t: WorkTable, owner: string, leaseMs = DEFAULT_LEASE_MS, now = Date.now()): number {
  return runSqlite(db, renewClaimsOp(t, owner, leaseMs, now));
}

export function* renewClaimsOp(t: WorkTable, owner: string, leaseMs = DEFAULT_LEASE_MS, now = Date.now()): Op<number> {
  return (yield* run(`UPDATE ${t.table} SET claim_until = ? WHERE claim_owner = ?`, [now + leaseMs, owner])).changes;
}

/** Give up claims of `owner`: those on `keys`, or all of them. The rows stay as they are, free for anyone. */
export function releaseClaims(db: DB, t: WorkTable, owner: string, keys?: readonly number[]): number {
  return runSqlite(db, releaseClaimsOp(t, owner, keys));
}

export function* releaseClaimsOp(t: WorkTable, owner: string, keys?: readonly number[]): Op<number> {
  if (keys) {
    let released = 0;
    for (const key of keys) {
      released += (yield* run(`UPDATE ${t.table} SET claim_owner = NULL, claim_until = NULL WHERE ${t.key} = ? AND claim_owner = ?`, [key, owner])).changes;
    }
    return released;
  }
  return (yield* run(`UPDATE ${t.table} SET claim_owner = NULL, claim_until = NULL WHERE claim_owner = ?`, [owner])).changes;
}

/** Free the claims of processes of this machine that no longer exist (a crash); returns how many rows. */
export function releaseClaimsOfGoneOwners(db: DB, t: WorkTable, isGone: (owner: string) => boolean = ownerIsGone): number {
  return runSqlite(db, releaseClaimsOfGoneOwnersOp(t, isGone));
}

export function* releaseClaimsOfGoneOwnersOp(t: WorkTable, isGone: (owner: string) => boolean = ownerIsGone): Op<number> {
  const owners = yield* all<{ owner: string }>(`SELECT DISTINCT claim_owner AS owner FROM ${t.table} WHERE claim_owner IS NOT NULL`);
  let released = 0;
  for (const { owner } of owners) if (isGone(owner)) released += yield* releaseClaimsOp(t, owner);
  return released;
}

/** Thrown inside the transaction that records a piece of work when its claim is no longer held: the transaction is undone. */
export class ClaimLostError extends Error {
  constructor(t: WorkTable, key: number) {
    super(`${t.table} #${key} is no longer claimed by this process (its claim lapsed and another process took it); its result was discarded`);
  }
}

/**
 * Require that `owner` still holds `key` and drop the claim, within the transaction that records
 * the work's outcome: call it first, and let its ClaimLostError undo the rest.
 */
export function finishClaim(db: DB, t: WorkTable, owner: string, key: number): void {
  runSqlite(db, finishClaimOp(t, owner, key));
}

export function* finishClaimOp(t: WorkTable, owner: string, key: number): Op<void> {
  const { changes } = yield* run(`UPDATE ${t.table} SET claim_owner = NULL, claim_until = NULL WHERE ${t.key} = ? AND claim_owner = ?`, [key, owner]);
  if (changes === 0) throw new ClaimLostError(t, key);
}
