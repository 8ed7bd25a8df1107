import type { DB } from '../store/db.js';
import type { Store } from '../store/store.js';
import type { Op } from '../store/sql.js';
import { runSqlite } from '../store/sqlite-run.js';
import { claimDueDeliveries, claimDueDeliveriesOp, DELIVERY_WORK, nextDueAt, nextDueAtOp, type DeliveryRow } from '../store/deliveries.js';
import { releaseClaimsOfGoneOwners, releaseClaimsOfGoneOwnersOp } from '../store/claims.js';
import { GroupCommit } from './group-commit.js';

/** What one look at the database for work found: the rows now claimed, and when the next unclaimed one falls due. */
export interface Claimed {
  rows: DeliveryRow[];
  nextDueAt: number | undefined;
}

/**
 * Where the work queue keeps its state: the delivery log of a SQLite file (through the
 * receiver's group commit, answered synchronously) or of a PostgreSQL database (each write its
 * own transaction). The queue's writes are store operations (sql.ts), written once for both.
 */
export interface WorkStore {
  /** Free the claims of processes that are gone, claim up to `room` due rows for `owner`. SQLite answers at once. */
  claim(owner: string, room: number, now: number, leaseMs: number): Claimed | Promise<Claimed>;
  /** Commit a write derived from stored deliveries (it needs no fsync of its own on SQLite: group-commit.ts). */
  write<T>(make: () => Op<T>): Promise<T>;
}

export function sqliteWorkStore(db: DB, commits: GroupCommit = new GroupCommit(db)): WorkStore {
  return {
    claim(owner, room, now, leaseMs) {
      releaseClaimsOfGoneOwners(db, DELIVERY_WORK);
      const rows = claimDueDeliveries(db, owner, room, { now, leaseMs });
      return { rows, nextDueAt: rows.length === room ? undefined : nextDueAt(db, now) };
    },
    write: (make) => commits.run(() => runSqlite(db, make()), { durable: false }),
  };
}

/**
 * The work queue on PostgreSQL: rows are claimed with `FOR UPDATE SKIP LOCKED` (two receivers
 * looking at once take different rows), and every outcome is recorded in the transaction that
 * drops the claim, only while it is still held.
 */
export function postgresWorkStore(store: Store): WorkStore {
  return {
    claim: (owner, room, now, leaseMs) =>
      store.run(function* (): Op<Claimed> {
        yield* releaseClaimsOfGoneOwnersOp(DELIVERY_WORK);
        const rows = yield* claimDueDeliveriesOp(owner, room, { now, leaseMs });
        return { rows, nextDueAt: rows.length === room ? undefined : yield* nextDueAtOp(now) };
      }),
    write: (make) => store.run(make),
  };
}
