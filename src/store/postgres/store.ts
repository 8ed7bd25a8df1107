import type pg from 'pg';
import Cursor from 'pg-cursor';
import type { Store, StreamOptions, Transaction } from '../store.js';
import type { OpFunction, Params, Sql } from '../sql.js';
import { createPool, describeConnectError, type PoolOptions } from './connect.js';
import { migratePostgres, VERSION_TABLE, type MigrateOptions } from './migrate.js';
import { prepared, runPostgres, transactPostgres } from './run.js';
import { redactDatabaseUrl } from '../location.js';

/** The PostgreSQL store: operations run over a pool of connections, each as one transaction. */
export class PostgresStore implements Store {
  readonly dialect = 'postgres' as const;
  readonly shown: string;
  private closed = false;

  constructor(
    readonly pool: pg.Pool,
    readonly url: string,
  ) {
    this.shown = redactDatabaseUrl(url);
  }

  run<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T> {
    return transactPostgres(this.pool, fn, args);
  }

  async read<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await runPostgres(client, fn(...args));
    } finally {
      client.release();
    }
  }

  async *stream<Row>(sql: Sql, params: Params, batchRows = 1000, options: StreamOptions = {}): AsyncGenerator<Row[], void, undefined> {
    const client = await this.pool.connect();
    const query = prepared(sql, params);
    let cursor: Cursor<Row> | undefined;
    let broken: Error | undefined;
    try {
      // One snapshot for the whole stream, read through a server-side cursor a batch at a time.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      cursor = client.query(new Cursor<Row>(query.text, query.values as unknown[], options.arrays ? { rowMode: 'array' } : {}));
      for (;;) {
        const rows = await cursor.read(batchRows);
        if (rows.length === 0) break;
        yield rows;
      }
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      if (cursor) await cursor.close().catch(() => undefined);
      await client.query('ROLLBACK').catch((err: Error) => (broken = err));
      client.release(broken);
    }
  }

  async transaction<T>(body: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await body({ run: (fn, ...args) => runPostgres(client, fn(...args)) });
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async schemaVersion(): Promise<number> {
    const result = await this.pool.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`);
    return result.rows[0]?.version ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** Connect to the database `url` names and bring its schema up to date (creating it in an empty database). */
export async function openPostgresStore(url: string, options: MigrateOptions & PoolOptions = {}): Promise<PostgresStore> {
  const pool = createPool(url, options);
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw describeConnectError(url, err);
  }
  try {
    await migratePostgres(client, redactDatabaseUrl(url), options);
  } catch (err) {
    client.release();
    await pool.end().catch(() => undefined);
    if ((err as { code?: unknown }).code !== undefined) throw describeConnectError(url, err);
    throw err;
  }
  client.release();
  return new PostgresStore(pool, url);
}
