import { openDatabase } from './db.js';
import type { StoreLocation } from './location.js';
import { SqliteStore, type Store } from './store.js';

export interface OpenStoreOptions {
  /** Stop at this schema version (tests of an upgrade in place). */
  migrateTo?: number;
  readonly?: boolean;
}

/**
 * Open the store at `location`, creating or upgrading its schema. PostgreSQL's driver is
 * loaded only when a PostgreSQL database is named, so SQLite runs start as fast as before.
 */
export async function openStore(location: StoreLocation, options: OpenStoreOptions = {}): Promise<Store> {
  if (location.kind === 'sqlite') return new SqliteStore(openDatabase(location.file, options), location.shown);
  const { openPostgresStore } = await import('./postgres/store.js');
  return openPostgresStore(location.url, options);
}
