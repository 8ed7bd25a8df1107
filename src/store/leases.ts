import type { DB } from './db.js';
import { ownerIsGone } from './claims.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';
import { get, lock, run, type Op } from './sql.js';

/**
 * Named leases: at most one process holds a name at a time (one reconciliation pass per
 * database, one renewal of the subscriptions, however many `listen` processes share it). A
 * lease is a row with an owner and an expiry; it is taken atomically (under SQLite's write
 * lock, or on PostgreSQL the name's advisory lock for the transaction: two processes never
 * both read it free and both take it), renewed while its work runs, and free once it lapses or
 * its holder is released. One held by a process of this machine that no longer exists is free
 * at once, as work claims are (claims.ts); one held on another machine lapses.
 */

export interface Lease {
  name: string;
  owner: string;
  /** Epoch ms after which the lease is free unless renewed. */
  until: number;
  /** Epoch ms when the owner took it. */
  acquired_at: number;
}

/**
 * Take `name` for `owner` until `now + leaseMs` when nobody holds it (or its holder's lease
 * lapsed, or the holder is a process of this machine that is gone). True when `owner` holds it now.
 */
export function acquireLease(db: DB, name: string, owner: string, leaseMs: number, now = Date.now()): boolean {
  return transactSqlite(db, acquireLeaseOp, name, owner, leaseMs, now);
}

export function* acquireLeaseOp(name: string, owner: string, leaseMs: number, now = Date.now()): Op<boolean> {
  yield* lock(`lease:${name}`);
  const held = yield* holderOfOp(name);
  if (held && held.owner !== owner && held.until > now && !ownerIsGone(held.owner)) return false;
  yield* run(
    `INSERT INTO leases (name, owner, until, acquired_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until, acquired_at = excluded.acquired_at`,
    [name, owner, now + leaseMs, now],
  );
  return true;
}

/** Extend `owner`'s lease; false when it no longer holds it (it lapsed and another process took it). */
export function renewLease(db: DB, name: string, owner: string, leaseMs: number, now = Date.now()): boolean {
  return runSqlite(db, renewLeaseOp(name, owner, leaseMs, now));
}

export function* renewLeaseOp(name: string, owner: string, leaseMs: number, now = Date.now()): Op<boolean> {
  return (yield* run('UPDATE leases SET until = ? WHERE name = ? AND owner = ?', [now + leaseMs, name, owner])).changes > 0;
}

/** Give the lease up (nothing happens when `owner` no longer holds it). */
export function releaseLease(db: DB, name: string, owner: string): void {
  runSqlite(db, releaseLeaseOp(name, owner));
}

export function* releaseLeaseOp(name: string, owner: string): Op<void> {
  yield* run('DELETE FROM leases WHERE name = ? AND owner = ?', [name, owner]);
}

/** Who holds `name` now, if anyone (a lapsed lease is no one's). */
export function leaseHolder(db: DB, name: string, now = Date.now()): Lease | undefined {
  return runSqlite(db, leaseHolderOp(name, now));
}

export function* leaseHolderOp(name: string, now = Date.now()): Op<Lease | undefined> {
  const held = yield* holderOfOp(name);
  return held && held.until > now && !ownerIsGone(held.owner) ? held : undefined;
}

function* holderOfOp(name: string): Op<Lease | undefined> {
  const row = yield* get<Lease>('SELECT name, owner, until, acquired_at FROM leases WHERE name = ?', [name]);
  return row && { ...row, until: Number(row.until), acquired_at: Number(row.acquired_at) };
}
