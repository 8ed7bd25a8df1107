import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { RuntimeError, errorMessage } from '../errors.js';
import { cachedStatement } from './statements.js';

export type DB = Database.Database;

export interface OpenOptions {
  readonly?: boolean;
  /** Stop after this migration; tests use it to make files of an older schema. */
  migrateTo?: number;
  /** Told what was done to the file that its user should know (its mode tightened). */
  onNotice?: (text: string) => void;
}

/**
 * Open (creating if needed) the SQLite store and bring its schema up to date.
 * WAL keeps readers (export, events) from blocking the receiver's writes;
 * synchronous=FULL makes a commit durable before we acknowledge a delivery.
 */
export function openDatabase(file: string, options: OpenOptions = {}): DB {
  if (file !== ':memory:') {
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      // Health data: a new database is readable by its owner only (SQLite gives its -wal and
      // -shm files the same mode).
      if (!options.readonly) fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_RDWR, 0o600));
    } catch (err) {
      throw new RuntimeError(`Cannot create the database ${file} or its folder: ${errorMessage(err)}`);
    }
  }
  let db: DB;
  try {
    db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    db.pragma('busy_timeout = 5000');
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  } catch (err) {
    throw new RuntimeError(`Cannot open the database ${file}: ${describeSqliteError(err)}`);
  }
  try {
    migrate(db, options.migrateTo ?? SCHEMA_VERSION, file, options.readonly ?? false);
  } catch (err) {
    db.close();
    throw err;
  }
  // Only a file that is a wearhook database: anything else is left exactly as it was.
  if (file !== ':memory:') ownerOnly(file, options.onNotice);
  return db;
}

/**
 * A database made by an older wearhook, or by hand, may be readable by others (0644): its health
 * data is tightened to the owner (0600), the -wal and -shm files with it, and the user is told.
 */
function ownerOnly(file: string, notice: (text: string) => void = () => {}): void {
  const loose: string[] = [];
  for (const candidate of [file, `${file}-wal`, `${file}-shm`]) {
    let mode: number;
    try {
      mode = fs.statSync(candidate).mode & 0o777;
    } catch {
      continue; // not there (yet)
    }
    if ((mode & 0o077) === 0) continue;
    try {
      fs.chmodSync(candidate, mode & 0o700);
      loose.push(`${path.basename(candidate)} (was ${mode.toString(8).padStart(4, '0')})`);
    } catch (err) {
      notice(`${candidate} holds health data but is readable by other users (mode ${mode.toString(8).padStart(4, '0')}) and could not be made private: ${errorMessage(err)}; run \`chmod 600 ${candidate}\`.`);
    }
  }
  if (loose.length > 0) notice(`the database was readable by other users; made readable by its owner only (0600): ${loose.join(', ')}.`);
}

function describeSqliteError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'SQLITE_NOTADB') return 'it is not a SQLite database; point --db at a wearhook database or a new file';
  if (code === 'SQLITE_CANTOPEN') return 'the file cannot be opened (check the path and permissions)';
  return errorMessage(err);
}

function migrate(db: DB, target: number, file: string, readonly: boolean): void {
  let current: number;
  try {
    current = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    throw new RuntimeError(`Cannot open the database ${file}: ${describeSqliteError(err)}`);
  }
  if (current > SCHEMA_VERSION) {
    throw new RuntimeError(
      `The database ${file} has schema version ${current}, newer than this wearhook understands (${SCHEMA_VERSION}); upgrade wearhook.`,
    );
  }
  if (current >= target) return;
  if (readonly) {
    throw new RuntimeError(`The database ${file} needs an upgrade but was opened read-only.`);
  }
  for (let version = current; version < target; version++) {
    const step = db.transaction(() => {
      const migration = MIGRATIONS[version]!;
      if (typeof migration === 'string') db.exec(migration);
      else migration(db);
      db.pragma(`user_version = ${version + 1}`);
    });
    try {
      step.immediate();
    } catch (err) {
      throw new RuntimeError(`Upgrading the database ${file} to schema ${version + 1} failed: ${describeSqliteError(err)}`);
    }
  }
}

export function schemaVersion(db: DB): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Run `write` (synchronous, outside a transaction) with commits that wait for no fsync of their
 * own (WAL with synchronous=NORMAL): they become durable with the connection's next durable
 * commit, and a power cut before it may lose them (never a crash of the process). For writes
 * of what can be fetched again, beside a receiver whose own commits must not wait behind them.
 */
export function withoutFsync<T>(db: DB, write: () => T): T {
  cachedStatement(db, 'PRAGMA synchronous = NORMAL').run();
  try {
    return write();
  } finally {
    if (db.open) cachedStatement(db, 'PRAGMA synchronous = FULL').run();
  }
}
