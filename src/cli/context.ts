import type { Command } from 'commander';
import { Output, type GlobalOptions } from './output.js';
import { openDatabase, type DB } from '../store/db.js';
import { resolveDbPath } from '../config/paths.js';
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

  openDb(): DB {
    this.db ??= openDatabase(this.dbPath);
    return this.db;
  }

  close(): void {
    if (this.db?.open) this.db.close();
    this.db = undefined;
  }
}
