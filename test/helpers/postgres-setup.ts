import type { TestProject } from 'vitest/node';
import { startPostgresServer } from './postgres-server.js';
import { openPostgresStore } from '../../src/store/postgres/store.js';

/**
 * Global setup of the `postgres` test project: one PostgreSQL server for the whole run, and a
 * template database already at wearhook's schema, from which each test file copies databases
 * of its own (test/helpers/postgres.ts) in a few milliseconds.
 */
export const TEMPLATE = 'wearhook_template';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgresServer();
  const template = await server.createDatabase(TEMPLATE);
  const store = await openPostgresStore(template);
  await store.close();
  project.provide('postgres', { admin: server.url('postgres'), template: TEMPLATE, port: server.port, user: server.user, password: server.password });
  return () => server.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { admin: string; template: string; port: number; user: string; password: string };
  }
}
