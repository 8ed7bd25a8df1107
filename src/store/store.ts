import type { DB } from './db.js';
import { schemaVersion } from './db.js';
import { cachedStatement } from './statements.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';
import { sqlFor, type Dialect, type OpFunction, type Params, type Sql } from './sql.js';

/**
 * The store as commands, the receiver, the work queue, sync, export and the console use it:
 * store operations (sql.ts) run on SQLite or on PostgreSQL. Every operation is atomic.
 */
export interface Store {
  readonly dialect: Dialect;
  /** Where the store is, as it may be shown: a file path, or a URL with its password redacted. */
  readonly shown: string;
  /** Run an operation as one transaction. PostgreSQL runs it again (calling `fn` anew) when it loses a deadlock. */
  run<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T>;
  /** Run a reading operation without a transaction of its own (each statement sees what is committed when it runs). */
  read<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T>;
  /**
   * The rows of one query in batches of about `batchRows`, from one snapshot: memory stays flat
   * however many rows there are. With `arrays`, each row is an array of its columns in order
   * (cheaper than an object for millions of rows).
   */
  stream<Row>(sql: Sql, params: Params, batchRows?: number, options?: StreamOptions): AsyncGenerator<Row[], void, undefined>;
  /**
   * Run `body` as one transaction that spans awaits, for bulk work that reads from elsewhere
   * meanwhile (`db copy`). On SQLite nothing else may use the store until it ends.
   */
  transaction<T>(body: (tx: Transaction) => Promise<T>): Promise<T>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

export interface StreamOptions {
  /** Rows as arrays of their columns in order instead of objects. */
  arrays?: boolean;
}

/** The operations of one open transaction (Store.transaction). */
export interface Transaction {
  run<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T>;
}

/** The SQLite store: operations answered synchronously by better-sqlite3 on one connection. */
export class SqliteStore implements Store {
  readonly dialect = 'sqlite' as const;

  constructor(
    /** The connection, for the parts that only SQLite has (group commit's fsync modes, data_version). */
    readonly db: DB,
    readonly shown: string,
  ) {}

  run<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T> {
    try {
      return Promise.resolve(transactSqlite(this.db, fn, ...args));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  read<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T> {
    try {
      return Promise.resolve(runSqlite(this.db, fn(...args)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async *stream<Row>(sql: Sql, params: Params, batchRows = 1000, options: StreamOptions = {}): AsyncGenerator<Row[], void, undefined> {
    // A statement of its own (not the cached one): an iteration in progress must not be shared.
    const statement = this.db.prepare(sqlFor(sql, 'sqlite'));
    if (options.arrays) statement.raw(true);
    // A stream reads each page once: better-sqlite3's 16 MiB page cache would only hold pages
    // never read again (and the sorter's memory follows it), so it is SQLite's 2 MiB meanwhile.
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -2000');
    try {
      let batch: Row[] = [];
      for (const row of statement.iterate(...(Array.isArray(params) ? params : [params])) as Iterable<Row>) {
        batch.push(row);
        if (batch.length >= batchRows) {
          yield batch;
          batch = [];
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      if (this.db.open) this.db.pragma(`cache_size = ${cacheSize}`);
    }
  }

  async transaction<T>(body: (tx: Transaction) => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = await body({ run: (fn, ...args) => this.read(fn, ...args) });
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  schemaVersion(): Promise<number> {
    return Promise.resolve(schemaVersion(this.db));
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }
}

/** A statement on the SQLite connection of a store, for SQLite-only code paths. */
export function sqliteStatement(store: SqliteStore, sql: string): ReturnType<typeof cachedStatement> {
  return cachedStatement(store.db, sql);
}
