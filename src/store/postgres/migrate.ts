import type pg from 'pg';
import { RuntimeError } from '../../errors.js';
import { SCHEMA_VERSION } from '../migrations.js';
import { BASELINE, BASELINE_VERSION, MIGRATIONS } from './schema.js';

/** The table that records a PostgreSQL database's schema version (SQLite keeps it in `PRAGMA user_version`). */
export const VERSION_TABLE = 'wearhook_schema';

/** The advisory lock every process takes to read and upgrade the schema: two processes starting together upgrade it once. */
const SCHEMA_LOCK = 'wearhook:schema';

export interface MigrateOptions {
  /** Stop at this version (tests of an upgrade in place); never below the baseline. */
  migrateTo?: number;
  /** Only check the version; never create or upgrade (doctor). */
  readonly?: boolean;
}

/** A read-only open (doctor) of a database whose schema is older than this wearhook's, or not there yet. */
export class SchemaNeedsUpgrade extends RuntimeError {
  constructor(
    shown: string,
    readonly version: number,
  ) {
    super(`The database ${shown} needs an upgrade but was opened read-only.`);
  }
}

/**
 * Bring the schema up to date in one transaction under an advisory lock, and return the
 * version it is at. A database with tables but no wearhook schema is refused rather than mixed with.
 */
export async function migratePostgres(client: pg.ClientBase, shown: string, options: MigrateOptions = {}): Promise<number> {
  const target = options.migrateTo ?? SCHEMA_VERSION;
  if (target < BASELINE_VERSION) throw new Error(`A PostgreSQL database starts at schema ${BASELINE_VERSION}, not ${target}.`);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [SCHEMA_LOCK]);
    let current = await readVersion(client, shown);
    if (current > SCHEMA_VERSION) {
      throw new RuntimeError(
        `The database ${shown} has schema version ${current}, newer than this wearhook understands (${SCHEMA_VERSION}); upgrade wearhook.`,
      );
    }
    if (current < target && options.readonly) throw new SchemaNeedsUpgrade(shown, current);
    if (current === 0 && target > 0) {
      await client.query(BASELINE);
      await client.query(`CREATE TABLE ${VERSION_TABLE} (version INTEGER NOT NULL)`);
      await client.query(`INSERT INTO ${VERSION_TABLE} (version) VALUES ($1)`, [BASELINE_VERSION]);
      current = BASELINE_VERSION;
    }
    for (let version = current + 1; version <= target; version++) {
      const step = MIGRATIONS[version];
      if (step === undefined) throw new Error(`Schema ${version} has no PostgreSQL migration (src/store/postgres/schema.ts).`);
      try {
        await client.query(step);
      } catch (err) {
        throw new RuntimeError(`Upgrading the database ${shown} to schema ${version} failed: ${(err as Error).message}`, { cause: err });
      }
      await client.query(`UPDATE ${VERSION_TABLE} SET version = $1`, [version]);
      current = version;
    }
    await client.query('COMMIT');
    return current;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

async function readVersion(client: pg.ClientBase, shown: string): Promise<number> {
  const found = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [VERSION_TABLE]);
  if (found.rows[0]?.t) {
    const row = await client.query<{ version: number }>(`SELECT version FROM ${VERSION_TABLE}`);
    return row.rows[0]?.version ?? 0;
  }
  const tables = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()`,
  );
  if ((tables.rows[0]?.n ?? 0) > 0) {
    throw new RuntimeError(
      `The database ${shown} has tables but is not a wearhook database; give wearhook a database of its own (createdb wearhook).`,
    );
  }
  return 0;
}
