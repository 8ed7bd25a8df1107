import path from 'node:path';
import fs from 'node:fs';
import { openDatabase, type DB } from '../../src/store/db.js';
import { copyStore } from '../../src/store/copy.js';
import { openStore } from '../../src/store/open.js';
import { storeLocation } from '../../src/store/location.js';
import { all, run, type Op, type OpFunction, type Params, type RunResult, type Sql } from '../../src/store/sql.js';
import type { Store } from '../../src/store/store.js';

/**
 * The store engine a test file runs on. vitest.config.ts runs the files listed in BOTH_ENGINES
 * twice: in the `sqlite` project (a SQLite file in the test's temp dir) and in the `postgres`
 * project (WEARHOOK_TEST_STORE=postgres: a new database on the run's PostgreSQL server). A test
 * written with these helpers says what it checks once and runs on both.
 *
 *   const db = await testDatabase(dir, (sqlite) => seedStudy(sqlite));   // a file or a postgres:// URL
 *   await runCli(['--db', db, 'report', '--json']);
 *   expect(await queryRows(db, 'SELECT count(*) AS n FROM deliveries')).toEqual([{ n: 3 }]);
 */
export type TestEngine = 'sqlite' | 'postgres';

export const TEST_ENGINE: TestEngine = process.env.WEARHOOK_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = TEST_ENGINE === 'postgres';

/**
 * A new, migrated store for one test, as `--db` / `WEARHOOK_DB` take it: `dir/<name>` on SQLite,
 * a new database on PostgreSQL. `seed`, when given, fills it through the synchronous SQLite
 * helpers the tests already have (seedOuraParticipant, storeDocument, ...): on PostgreSQL they
 * fill a scratch SQLite file that `wearhook db copy`'s code then copies in, ids and all.
 */
export async function testDatabase(dir: string, seed?: (db: DB) => void, name = 'wearhook.db'): Promise<string> {
  const file = path.join(dir, onPostgres ? `seed-${name}` : name);
  if (!onPostgres) {
    if (seed) withSqlite(file, seed);
    else openDatabase(file).close();
    return file;
  }
  if (!seed) {
    const { newPostgresDatabase } = await import('./postgres.js');
    return newPostgresDatabase();
  }
  withSqlite(file, seed);
  return testDatabaseOf(file);
}

/**
 * A SQLite file a test has filled (with helpers that open the file themselves, such as
 * seedOuraUser or seedStudy) as the test's store: the file itself on SQLite; on PostgreSQL a
 * new database that `wearhook db copy`'s code fills from it, ids and all.
 */
export async function testDatabaseOf(file: string): Promise<string> {
  if (!onPostgres) return file;
  const { newPostgresDatabase } = await import('./postgres.js');
  const url = await newPostgresDatabase();
  const [from, to] = await Promise.all([openStore(storeLocation(file)), openStore(storeLocation(url))]);
  try {
    await copyStore(from, to);
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
  return url;
}

function withSqlite(file: string, seed: (db: DB) => void): void {
  const db = openDatabase(file);
  try {
    seed(db);
  } finally {
    db.close();
  }
}

/** Open the store a test made (testDatabase), on either engine. Close it when done. */
export function openTestStore(location: string): Promise<Store> {
  return openStore(storeLocation(location));
}

/** Open the store, run `body` with it, close it. */
export async function withTestStore<T>(location: string, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openTestStore(location);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/** Run one store operation (storeDocumentOp, upsertUserOp, ...) as its own transaction, on either engine. */
export function runOp<A extends unknown[], T>(location: string, fn: OpFunction<A, T>, ...args: A): Promise<T> {
  return withTestStore(location, (store) => store.run(fn, ...args));
}

/**
 * The rows of a query, on either engine: `?` / `@name` parameters as everywhere in wearhook, and
 * integer columns as numbers on both (the PostgreSQL pool parses int8/numeric). Write SQL both
 * engines read, or give `{ sqlite, postgres }`. Booleans: compare `x = 1` on SQLite, use a
 * CASE or `::int` on PostgreSQL.
 */
export function queryRows<Row = Record<string, unknown>>(location: string, sql: Sql, params: Params = []): Promise<Row[]> {
  return withTestStore(location, (store) => store.read(rowsOf<Row>, sql, params));
}

/** A statement that returns no rows (an UPDATE that sets up a case), on either engine. */
export function execute(location: string, sql: Sql, params: Params = []): Promise<RunResult> {
  return withTestStore(location, (store) => store.run(statementOf, sql, params));
}

function* rowsOf<Row>(sql: Sql, params: Params): Op<Row[]> {
  return yield* all<Row>(sql, params);
}

function* statementOf(sql: Sql, params: Params): Op<RunResult> {
  return yield* run(sql, params);
}

/**
 * Everything the store holds, as text, to check that a secret never reaches it: the SQLite
 * file's bytes (with its WAL), or every row of every table on PostgreSQL (bytea as hex).
 */
export async function storeText(location: string): Promise<string> {
  if (!onPostgres) {
    return [location, `${location}-wal`].filter((file) => fs.existsSync(file)).map((file) => fs.readFileSync(file).toString('latin1')).join('\n');
  }
  const tables = await queryRows<{ name: string }>(location, "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'");
  const texts = await Promise.all(tables.map(({ name }) => queryRows<{ row: string }>(location, `SELECT t::text AS row FROM "${name}" t`)));
  return texts.flat().map((r) => r.row).join('\n');
}
