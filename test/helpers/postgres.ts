import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * Databases on the test run's PostgreSQL server (test/helpers/postgres-setup.ts). Each test
 * that needs one takes a new one: `migrated` copies the template at wearhook's schema,
 * otherwise the database is empty.
 */
export function postgresServer(): { admin: string; template: string; port: number; user: string; password: string } {
  return inject('postgres');
}

export async function newPostgresDatabase(options: { migrated?: boolean } = {}): Promise<string> {
  const server = postgresServer();
  const name = `t_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"${options.migrated === false ? '' : ` TEMPLATE "${server.template}"`}`);
  return databaseUrl(name);
}

export function databaseUrl(name: string, password = postgresServer().password): string {
  const { user, port } = postgresServer();
  return `postgres://${user}:${password}@127.0.0.1:${port}/${name}`;
}

export async function adminQuery<Row extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], url = postgresServer().admin): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
