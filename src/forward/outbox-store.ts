import type { DB } from '../store/db.js';
import { outboxHorizonOp } from '../store/outbox.js';
import type { Op } from '../store/sql.js';
import { runSqlite } from '../store/sqlite-run.js';
import { SqliteStore, type Store } from '../store/store.js';
import { GroupCommit } from '../receiver/group-commit.js';

/**
 * Where the outbox keeps its state (the dispatcher, `events forward-retry`): the SQLite file,
 * whose writes ride on the receiver's group commit, or PostgreSQL, each write its own
 * transaction. The outbox's statements are store operations (store/outbox.ts), written once.
 */
export interface OutboxStore {
  /** One transaction. On SQLite it asks for no fsync of its own (group-commit.ts): outbox rows, cursors and claims can be rebuilt. */
  write<T>(make: () => Op<T>): Promise<T>;
  read<T>(make: () => Op<T>): Promise<T>;
  /**
   * The highest delivery id that enqueueing may move a cursor past (PostgreSQL: every insert
   * of a lower id has ended, deliveryHorizonOp); undefined on SQLite, where ids commit in order.
   */
  horizon(targetIds: readonly number[]): Promise<number | undefined>;
}

export function sqliteOutboxStore(db: DB, commits: GroupCommit = new GroupCommit(db)): OutboxStore {
  return {
    write: (make) => commits.run(() => runSqlite(db, make()), { durable: false }),
    read: (make) => {
      try {
        return Promise.resolve(runSqlite(db, make()));
      } catch (err) {
        return Promise.reject(err);
      }
    },
    horizon: () => Promise.resolve(undefined),
  };
}

export function postgresOutboxStore(store: Store): OutboxStore {
  return {
    write: (make) => store.run(make),
    read: (make) => store.read(make),
    // A transaction of its own: the lock it takes holds new deliveries back only for that instant.
    horizon: (targetIds) => store.run(outboxHorizonOp, targetIds),
  };
}

/** The outbox of an open store (a command's `CliContext.openStore()`). */
export function outboxStoreOf(store: Store): OutboxStore {
  return store instanceof SqliteStore ? sqliteOutboxStore(store.db) : postgresOutboxStore(store);
}
