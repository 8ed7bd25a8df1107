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
 * Transactions of the work queue open at once on PostgreSQL. The queue starts up to a batch of
 * jobs together; were each to take a connection, the receiver's inserts (whose commit the
 * acknowledgement waits for) would queue behind a batch of post-acknowledgement work for the
 * pool's 10 connections. Work waits here instead, and most of the pool stays free for them.
 */
export const POSTGRES_WORK_TRANSACTIONS = 3;

/**
 * The work queue on PostgreSQL: rows are claimed with `FOR UPDATE SKIP LOCKED` (two receivers
 * looking at once take different rows), and every outcome is recorded in the transaction that
 * drops the claim, only while it is still held.
 */
export function postgresWorkStore(store: Store, transactions = POSTGRES_WORK_TRANSACTIONS): WorkStore {
  const turn = limiter(transactions);
  return {
    claim: (owner, room, now, leaseMs) =>
      turn(() =>
        store.run(function* (): Op<Claimed> {
          yield* releaseClaimsOfGoneOwnersOp(DELIVERY_WORK);
          const rows = yield* claimDueDeliveriesOp(owner, room, { now, leaseMs });
          return { rows, nextDueAt: rows.length === room ? undefined : yield* nextDueAtOp(now) };
        }),
      ),
    write: (make) => turn(() => store.run(make)),
  };
}

/** Run at most `n` of the tasks given at once, the others in the order they came. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next task waiting, if any.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
