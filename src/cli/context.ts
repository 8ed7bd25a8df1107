import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Output, type GlobalOptions } from './output.js';
import { openDatabase, type DB } from '../store/db.js';
import { dbPathSource, resolveDbPath } from '../config/paths.js';
import { UsageError } from '../errors.js';
import { isPostgresUrl, redactDatabaseUrl, storeLocation } from '../store/location.js';
import type { Store } from '../store/store.js';
import { Settings } from '../config/settings.js';

/** What every command gets: the global options, its output, the settings, and the store on demand. */
export class CliContext {
  readonly output: Output;
  readonly settings = new Settings();
  private db: DB | undefined;

  constructor(readonly globals: GlobalOptions) {
    this.output = new Output(globals);
  }

  static from(command: Command): CliContext {
    return new CliContext(command.optsWithGlobals<GlobalOptions>());
  }

  get dbPath(): string {
    return resolveDbPath(this.globals.db);
  }

  /**
   * The SQLite connection, opened (and created or upgraded) on first use, for the SQLite
   * engine's own paths (`openStore()`, `listen` on a file); every command works through
   * `openStore()`. The per-user default's folder is created; a path the user chose (`--db`,
   * `WEARHOOK_DB`) in a folder that does not exist is a usage error rather than a new empty
   * database somewhere unexpected.
   */
  openDb(): DB {
    if (!this.db) {
      const file = this.dbPath;
      // Never a SQLite file named like a URL: a caller that gets here on PostgreSQL is a bug.
      if (isPostgresUrl(file)) throw new Error(`A SQLite connection was asked for the PostgreSQL database ${redactDatabaseUrl(file)}; use openStore().`);
      const folder = path.dirname(path.resolve(file));
      if (dbPathSource(this.globals.db) !== 'default' && !fs.existsSync(folder)) {
        const given = this.globals.db ? '--db' : 'WEARHOOK_DB';
        throw new UsageError(`The folder of the database ${file} (${given}) does not exist; create it or give another path.`);
      }
      this.db = openDatabase(file, { onNotice: (text) => this.output.warn(text) });
    }
    return this.db;
  }

  /**
   * The store as a Store (store.ts), SQLite or PostgreSQL as `--db` / `WEARHOOK_DB` name it, for
   * the commands that work on both; close it with `close()` of the Store, then `close()` here.
   */
  async openStore(): Promise<Store> {
    const location = storeLocation(this.dbPath);
    if (location.kind === 'postgres') return (await import('../store/open.js')).openStore(location);
    const { SqliteStore } = await import('../store/store.js');
    return new SqliteStore(this.openDb(), location.shown);
  }

  close(): void {
    if (this.db?.open) this.db.close();
    this.db = undefined;
  }
}
