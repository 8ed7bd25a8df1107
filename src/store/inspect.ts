import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { DB } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { all, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * A look at a database file without changing it (`wearhook doctor`): never created, never
 * upgraded, opened read-only. `db` is given only when its schema is the one this wearhook
 * writes, so that queries can rely on it.
 */
export type Inspection =
  | { state: 'missing' }
  | { state: 'unreadable'; error: string }
  | { state: 'ready' | 'older' | 'newer'; version: number; mode: number; db?: DB };

export function inspectDatabase(file: string): Inspection {
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    return { state: 'missing' };
  }
  let db: DB | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (version === SCHEMA_VERSION) return { state: 'ready', version, mode, db };
    db.close();
    return { state: version < SCHEMA_VERSION ? 'older' : 'newer', version, mode };
  } catch (err) {
    db?.close();
    const code = (err as { code?: string }).code;
    return { state: 'unreadable', error: code === 'SQLITE_NOTADB' ? 'not a SQLite database' : (err as Error).message };
  }
}

/** Deliveries per status. */
export function deliveryStatusCounts(db: DB): Record<string, number> {
  return runSqlite(db, deliveryStatusCountsOp());
}

export function* deliveryStatusCountsOp(): Op<Record<string, number>> {
  const rows = yield* all<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
