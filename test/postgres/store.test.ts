import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../../src/store/db.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { VERSION_TABLE } from '../../src/store/postgres/migrate.js';
import { SqliteStore, type Store } from '../../src/store/store.js';
import { all, dialect, get, inJsonList, lock, run, sql, type Op } from '../../src/store/sql.js';
import { RuntimeError } from '../../src/errors.js';
import { translatePlaceholders } from '../../src/store/postgres/run.js';
import { redactDatabaseUrl, storeLocation } from '../../src/store/location.js';
import { adminQuery, databaseUrl, newPostgresDatabase, postgresServer } from '../helpers/postgres.js';

interface Column {
  table: string;
  column: string;
  notnull: boolean;
  pk: boolean;
}

function sqliteColumns(db: DB): Column[] {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as { name: string }[];
  return tables.flatMap(({ name }) =>
    (db.prepare(`SELECT name, "notnull", pk FROM pragma_table_info(?)`).all(name) as { name: string; notnull: number; pk: number }[]).map((c) => ({
      table: name,
      column: c.name,
      // SQLite lets a non-integer primary key column hold NULL unless it says NOT NULL; PostgreSQL never does.
      notnull: c.notnull === 1 || c.pk > 0,
      pk: c.pk > 0,
    })),
  );
}

async function postgresColumns(url: string): Promise<Column[]> {
  const rows = await adminQuery<{ table: string; column: string; notnull: boolean; pk: boolean }>(
    `SELECT c.table_name AS table, c.column_name AS column, c.is_nullable = 'NO' AS notnull,
            EXISTS (SELECT 1 FROM information_schema.key_column_usage k JOIN information_schema.table_constraints t
                      ON t.constraint_name = k.constraint_name AND t.table_name = k.table_name
                    WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_name = c.table_name AND k.column_name = c.column_name) AS pk
     FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name <> $1`,
    [VERSION_TABLE],
    url,
  );
  return rows;
}

const byName = (a: Column, b: Column) => (a.table + '.' + a.column < b.table + '.' + b.column ? -1 : 1);

describe('the PostgreSQL schema', () => {
  it('is the SQLite schema, table for table, column for column, index for index', async () => {
    const url = await newPostgresDatabase();
    const sqlite = openDatabase(':memory:');
    try {
      expect((await postgresColumns(url)).sort(byName)).toEqual(sqliteColumns(sqlite).sort(byName));
      const sqliteIndexes = (sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).all() as { name: string }[]).map((r) => r.name);
      const pgIndexes = (await adminQuery<{ name: string }>(`SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' ORDER BY indexname`, [], url)).map((r) => r.name);
      expect(pgIndexes).toEqual(sqliteIndexes);
      const version = await adminQuery<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`, [], url);
      expect(version).toEqual([{ version: SCHEMA_VERSION }]);
    } finally {
      sqlite.close();
    }
  });

  it('is created once when several processes start on an empty database together', async () => {
    const url = await newPostgresDatabase({ migrated: false });
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url)));
    try {
      for (const store of stores) expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
      expect(await adminQuery(`SELECT version FROM ${VERSION_TABLE}`, [], url)).toEqual([{ version: SCHEMA_VERSION }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database that holds tables of something else, and one of a newer schema', async () => {
    const foreign = await newPostgresDatabase({ migrated: false });
    await adminQuery('CREATE TABLE invoices (id int)', [], foreign);
    await expect(openPostgresStore(foreign)).rejects.toThrow(/has tables but is not a wearhook database/);

    const newer = await newPostgresDatabase();
    await adminQuery(`UPDATE ${VERSION_TABLE} SET version = ${SCHEMA_VERSION + 1}`, [], newer);
    await expect(openPostgresStore(newer)).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this wearhook understands`));
  });

  it('upgrades in place from 11: samples kept with a context column, Oura enhanced tags get their start_day as day', async () => {
    const url = await newPostgresDatabase({ migrated: false });
    await (await openPostgresStore(url, { migrateTo: 11 })).close();
    const tag = { id: 'etag-1', tag_type_code: 'tag_generic_caffeine', start_time: '2026-03-08T08:00:00-05:00', start_day: '2026-03-08' };
    await adminQuery(
      `INSERT INTO documents (provider, type, id, user_id, day, data, updated_at, source, version, retrieved_at)
       VALUES ('oura', 'enhanced_tag', 'etag-1', 'u1', NULL, $1, '2026-03-09T08:00:00Z', 'webhook', 1, '2026-03-09T08:00:00.000Z')`,
      [JSON.stringify(tag)],
      url,
    );
    await adminQuery(`INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value) VALUES ('oura', 'u1', 'heart_rate', 1, 't', '2026-03-08', 61)`, [], url);
    const store = await openPostgresStore(url);
    await store.close();
    expect(await adminQuery(`SELECT day, start_time FROM documents`, [], url)).toEqual([{ day: '2026-03-08', start_time: tag.start_time }]);
    expect(await adminQuery(`SELECT value, context FROM samples`, [], url)).toEqual([{ value: 61, context: null }]);
  });

  it('says which database could not be used without showing its password', async () => {
    const { password } = postgresServer();
    const wrong = databaseUrl('postgres', 'not-the-password');
    const err = await openPostgresStore(wrong).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toMatch(/^Cannot use the PostgreSQL database postgres:\/\/wearhook:\*\*\*\*@127\.0\.0\.1:\d+\/postgres: the server refused the user name or password/);
    expect((err as Error).message).not.toContain('not-the-password');

    const missing = await openPostgresStore(databaseUrl('no_such_db')).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/the database does not exist; create it first \(createdb no_such_db\)/);
    expect((missing as Error).message).not.toContain(password);

    const refused = await openPostgresStore('postgres://u:secret@127.0.0.1:1/db').catch((e: unknown) => e);
    expect((refused as Error).message).toBe('Cannot use the PostgreSQL database postgres://u:****@127.0.0.1:1/db: the connection was refused; is the server running and listening on that host and port?');
  });
});

/** One operation, run on both stores: what each statement gives back must read the same. */
function* roundTrip(): Op<unknown> {
  yield* run(
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, user_id, claim_until)
     VALUES (@provider, @at, 'POST', '/oura', '[]', @body, 1, @key, @user, @until)`,
    { provider: 'oura', at: '2026-01-01T00:00:00.000Z', body: Buffer.from([0, 1, 255]), key: 'k1', user: 'b-user', until: 2 ** 40 },
  );
  yield* run(
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, user_id) VALUES (?, ?, 'POST', '/oura', '[]', ?, 1, ?, ?)`,
    ['oura', '2026-01-02T00:00:00.000Z', Buffer.alloc(0), 'k2', 'B-user'],
  );
  const duplicate = yield* get<{ id: number }>(
    `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key) VALUES ('oura', 'x', 'POST', '/', '[]', ?, 1, 'k1')
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [Buffer.alloc(0)],
  );
  yield* lock('delivery:k1');
  const rows = yield* all(`SELECT id, user_id, body, claim_until, length(body) AS bytes, (id = 1) AS first FROM deliveries ORDER BY user_id`);
  const inList = yield* all<{ id: number }>(sql`SELECT id FROM deliveries WHERE ${inJsonList('user_id', '?')}`, [JSON.stringify(['B-user'])]);
  const ids = yield* all<{ id: number }>(sql`SELECT id FROM deliveries WHERE ${inJsonList('id', '@ids', 'bigint')} ORDER BY id`, { ids: '[2, 1]' });
  const changed = yield* run(`UPDATE deliveries SET attempts = attempts + 1 WHERE claim_until IS NULL`);
  const count = yield* get<{ n: number }>('SELECT COUNT(*) AS n, SUM(claim_until) AS s FROM deliveries');
  return { duplicate, rows, inList, ids, changed, count, dialect: yield* dialect() };
}

describe('store operations', () => {
  let postgres: PostgresStore;
  let sqlite: Store;

  beforeAll(async () => {
    postgres = await openPostgresStore(await newPostgresDatabase());
    sqlite = new SqliteStore(openDatabase(':memory:'), ':memory:');
  });
  afterAll(async () => {
    await postgres?.close();
    await sqlite?.close();
  });

  it('read the same from SQLite and PostgreSQL: integers past 2^31 as numbers, bytes as Buffers, text in byte order', async () => {
    const fromSqlite = (await sqlite.run(roundTrip)) as Record<string, unknown>;
    const fromPostgres = (await postgres.run(roundTrip)) as Record<string, unknown>;
    expect(fromSqlite.dialect).toBe('sqlite');
    expect(fromPostgres.dialect).toBe('postgres');
    // Comparisons come back as 0/1 from SQLite and as booleans from PostgreSQL: operations read them as truthy.
    const normal = (r: Record<string, unknown>) =>
      JSON.parse(JSON.stringify({ ...r, dialect: undefined }, (_k, v: unknown) => (typeof v === 'boolean' ? Number(v) : v))) as unknown;
    expect(normal(fromPostgres)).toEqual(normal(fromSqlite));
    expect(fromPostgres).toMatchObject({
      duplicate: undefined,
      rows: [
        { id: 2, user_id: 'B-user', bytes: 0, claim_until: null },
        { id: 1, user_id: 'b-user', body: Buffer.from([0, 1, 255]), bytes: 3, claim_until: 2 ** 40 },
      ],
      inList: [{ id: 2 }],
      ids: [{ id: 1 }, { id: 2 }],
      changed: { changes: 1 },
      count: { n: 2 },
    });
  });

  it('undo a whole operation that fails, and run one again that lost a deadlock', async () => {
    await expect(
      postgres.run(function* () {
        yield* run(`INSERT INTO participants (label, created_at, updated_at) VALUES ('p1', 'x', 'x')`);
        yield* run(`INSERT INTO participants (label, created_at, updated_at) VALUES ('p1', 'x', 'x')`);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await postgres.read(() => all('SELECT * FROM participants'))).toEqual([]);

    // Two operations that take the same two locks in opposite orders: PostgreSQL stops one, which is run again.
    let attempts = 0;
    const crossing = (first: string, second: string, label: string) =>
      function* (): Op<void> {
        attempts++;
        yield* lock(first);
        yield* get('SELECT pg_sleep(0.3)');
        yield* lock(second);
        yield* run(`INSERT INTO participants (label, created_at, updated_at) VALUES (?, 'x', 'x')`, [label]);
      };
    await Promise.all([postgres.run(crossing('a', 'b', 'p-ab')), postgres.run(crossing('b', 'a', 'p-ba'))]);
    expect(attempts).toBe(3);
    expect(await postgres.read(() => all('SELECT label FROM participants ORDER BY label'))).toEqual([{ label: 'p-ab' }, { label: 'p-ba' }]);
  });

  it('stream a query in batches from one snapshot', async () => {
    await postgres.run(() => run(`INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value)
      SELECT 'oura', 'u', 'hrv', g, 't', '2026-01-01', g FROM generate_series(1, 2500) AS g`));
    const sizes: number[] = [];
    let last = 0;
    for await (const batch of postgres.stream<{ epoch_ms: number }>('SELECT epoch_ms FROM samples WHERE user_id = ? ORDER BY epoch_ms', ['u'], 1000)) {
      sizes.push(batch.length);
      // Written meanwhile: not in this stream's snapshot.
      await postgres.run(() => run(`INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day) VALUES ('oura', 'u', 'hrv', ?, 't', 'd')`, [10_000 + sizes.length]));
      last = batch.at(-1)!.epoch_ms;
    }
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(last).toBe(2500);
  });
});

describe('PostgreSQL statements and URLs', () => {
  it('number ? and @name parameters, leaving quoted text and comments alone', () => {
    expect(translatePlaceholders(`SELECT '?', "a@b", x FROM t -- what?\nWHERE a = ? AND b = ? /* @c */`).text).toBe(
      `SELECT '?', "a@b", x FROM t -- what?\nWHERE a = $1 AND b = $2 /* @c */`,
    );
    const named = translatePlaceholders(`UPDATE t SET a = @a, b = @b WHERE a <> @a AND s = 'it''s @x'`);
    expect(named.text).toBe(`UPDATE t SET a = $1, b = $2 WHERE a <> $1 AND s = 'it''s @x'`);
    expect(named.names).toEqual(['a', 'b']);
  });

  it('show a database URL with its password redacted, wherever it is given', () => {
    expect(storeLocation('postgres://ann:s3cr%40t@db.example:5432/study?sslmode=require').shown).toBe('postgres://ann:****@db.example:5432/study?sslmode=require');
    expect(redactDatabaseUrl('postgresql://ann@db/study?password=s3cret&application_name=x')).toBe('postgresql://ann@db/study?password=****&application_name=x');
    expect(storeLocation('/data/wearhook.db')).toEqual({ kind: 'sqlite', file: '/data/wearhook.db', shown: '/data/wearhook.db' });
  });
});
