import type { DB } from './db.js';
import { ownerIsGone } from './claims.js';

/**
 * Named leases: at most one process holds a name at a time (one reconciliation pass per
 * database, however many `listen` processes share it). A lease is a row with an owner and an
 * expiry; it is taken atomically (one statement under SQLite's write lock), renewed while its
 * work runs, and free once it lapses or its holder is released. One held by a process of
 * this machine that no longer exists is free at once, as work claims are (claims.ts).
 * On PostgreSQL (#16) this becomes an advisory lock; the callers do not change.
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
  const take = db.transaction(() => {
    const held = holderOf(db, name);
    if (held && held.owner !== owner && held.until > now && !ownerIsGone(held.owner)) return false;
    db.prepare(
      `INSERT INTO leases (name, owner, until, acquired_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until, acquired_at = excluded.acquired_at`,
    ).run(name, owner, now + leaseMs, now);
    return true;
  });
  return take.immediate();
}

/** Extend `owner`'s lease; false when it no longer holds it (it lapsed and another process took it). */
export function renewLease(db: DB, name: string, owner: string, leaseMs: number, now = Date.now()): boolean {
  return db.prepare('UPDATE leases SET until = ? WHERE name = ? AND owner = ?').run(now + leaseMs, name, owner).changes > 0;
}

/** Give the lease up (nothing happens when `owner` no longer holds it). */
export function releaseLease(db: DB, name: string, owner: string): void {
  db.prepare('DELETE FROM leases WHERE name = ? AND owner = ?').run(name, owner);
}

/** Who holds `name` now, if anyone (a lapsed lease is no one's). */
export function leaseHolder(db: DB, name: string, now = Date.now()): Lease | undefined {
  const held = holderOf(db, name);
  return held && held.until > now && !ownerIsGone(held.owner) ? held : undefined;
}

function holderOf(db: DB, name: string): Lease | undefined {
  return db.prepare('SELECT name, owner, until, acquired_at FROM leases WHERE name = ?').get(name) as Lease | undefined;
}
