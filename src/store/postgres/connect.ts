import pg from 'pg';
import { RuntimeError, UsageError, errorMessage } from '../../errors.js';
import { redactDatabaseUrl } from '../location.js';

/**
 * Connections to a PostgreSQL database. Values come back as the SQLite store gives them, so
 * that the operations written once for both see the same rows: 64-bit integers (ids, epoch
 * milliseconds, counts) and numerics as JavaScript numbers, bytea as Buffers, text as strings.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) => {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    if (oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PoolOptions {
  /** Connections at most (default 10). */
  max?: number;
}

/** A pool on the database `url` names; nothing is connected until first used. */
export function createPool(url: string, options: PoolOptions = {}): pg.Pool {
  let config: pg.PoolConfig;
  try {
    new URL(url);
    config = { connectionString: url };
  } catch {
    throw new UsageError(`The database URL ${redactDatabaseUrl(url)} is not a valid URL; give postgres://USER:PASSWORD@HOST:PORT/DATABASE.`);
  }
  const pool = new pg.Pool({
    ...config,
    types,
    max: options.max ?? 10,
    application_name: 'wearhook',
    // Timestamps written without an offset are read as UTC, as SQLite reads them (epochMsOf),
    // whatever zone the server or its role is set to.
    options: '-c TimeZone=UTC',
    connectionTimeoutMillis: 15_000,
    idleTimeoutMillis: 10_000,
    keepAlive: true,
  });
  // An idle connection that the server closes (a restart) is dropped from the pool; the next use connects anew.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * What went wrong connecting, in one sentence that names the database (its password
 * redacted) and what to do.
 */
export function describeConnectError(url: string, err: unknown): RuntimeError {
  const shown = redactDatabaseUrl(url);
  const code = (err as { code?: string }).code;
  const reason =
    code === 'ECONNREFUSED'
      ? 'the connection was refused; is the server running and listening on that host and port?'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve'
        : code === '28P01' || code === '28000'
          ? 'the server refused the user name or password'
          : code === '3D000'
            ? `the database does not exist; create it first (createdb ${databaseName(url)})`
            : code === '42501'
              ? 'the user may not create tables there; grant it CREATE on the schema or use the database owner'
              : redactDatabaseUrl(errorMessage(err));
  return new RuntimeError(`Cannot use the PostgreSQL database ${shown}: ${reason}`, { cause: err });
}

function databaseName(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'NAME';
  } catch {
    return 'NAME';
  }
}
