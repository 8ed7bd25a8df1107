import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { openDatabase, type DB } from '../../src/store/db.js';
import { buildProviders } from '../../src/providers/registry.js';
import { startReceiver, type Receiver, type ReceiverEvent, type ReceiverOptions } from '../../src/receiver/server.js';
import { isPostgresUrl } from '../../src/store/location.js';
import { SqliteStore, type Store } from '../../src/store/store.js';
import { all, type Op, type OpFunction, type Params, type Sql } from '../../src/store/sql.js';
import { tempDir } from './cli.js';
import { onPostgres, openTestStore, testDatabase } from './engine.js';
import { TEST_SECRETS } from './signing.js';

export interface TestReceiver {
  receiver: Receiver;
  /** The SQLite connection (SQLite only: a test that uses it is about SQLite). */
  db: DB;
  /** The SQLite file (SQLite only). */
  dbFile: string;
  /** Where the store is, as `--db` takes it: the SQLite file or the PostgreSQL URL. */
  location: string;
  /** The receiver's own store, on either engine. */
  store: Store;
  events: ReceiverEvent[];
  /** One store operation (getDeliveryOp, ...) on the receiver's store. */
  run<A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A): Promise<T>;
  /** The rows of a query on the receiver's store (see engine.ts queryRows). */
  rows<Row = Record<string, unknown>>(sql: Sql, params?: Params): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * The receiver in-process on 127.0.0.1:0 with the test secrets and a real store: a SQLite file,
 * or in the `postgres` test project (test/helpers/engine.ts) a new PostgreSQL database. `dbFile`
 * (an existing SQLite file) and `db` keep it on SQLite; `location` opens a store another one made.
 */
export async function startTestReceiver(
  options: Partial<ReceiverOptions> & { corsanoSignatureHeader?: string; dbFile?: string; location?: string } = {},
): Promise<TestReceiver> {
  const dir = tempDir('wearhook-receiver-');
  const sqlite = options.location ? !isPostgresUrl(options.location) : !onPostgres || options.dbFile !== undefined || options.db !== undefined;
  const location = options.location ?? options.dbFile ?? (sqlite ? path.join(dir, 'wearhook.db') : await testDatabase(dir));
  const db = sqlite ? (options.db ?? openDatabase(location)) : undefined;
  const store = db ? new SqliteStore(db, location) : await openTestStore(location);
  const events: ReceiverEvent[] = [];
  let receiver: Receiver;
  try {
    receiver = await startReceiver({
      ...(db ? { db } : { store }),
      port: 0,
      providers: buildProviders({ secrets: TEST_SECRETS, corsanoSignatureHeader: options.corsanoSignatureHeader }),
      fetchOuraDocument: async () => null,
      onEvent: (event) => events.push(event),
      ...options,
    });
  } catch (err) {
    if (!db) await store.close();
    throw err;
  }
  const sqliteOnly = (what: string) => () => {
    throw new Error(`TestReceiver.${what} is SQLite's: this test runs on PostgreSQL`);
  };
  return {
    receiver,
    get db() {
      return db ?? sqliteOnly('db')();
    },
    get dbFile() {
      return db ? location : sqliteOnly('dbFile')();
    },
    location,
    store,
    events,
    run: (fn, ...args) => store.run(fn, ...args),
    rows: <Row>(sql: Sql, params: Params = []) => store.read(rowsOf<Row>, sql, params),
    close: async () => {
      await receiver.close();
      if (db) {
        if (db.open) db.close();
      } else await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function* rowsOf<Row>(sql: Sql, params: Params): Op<Row[]> {
  return yield* all<Row>(sql, params);
}

/** Poll until `check` resolves to something truthy (no timing is asserted, only the outcome). */
export async function waitUntil<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 10_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface Answer {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export async function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const res = await request(url, { method: (init.method ?? 'POST') as 'POST', headers: init.headers, body: init.body });
  const body = await res.body.text();
  return { status: res.statusCode, body, json: () => JSON.parse(body) as Record<string, unknown>, headers: res.headers };
}

export function deliveryCount(db: DB): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n;
}

/** How many deliveries the test receiver's store holds, on either engine. */
export async function storedCount(t: TestReceiver): Promise<number> {
  return (await t.rows<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries'))[0]!.n;
}
