import type { DB } from '../store/db.js';
import type { Provider, ProviderName } from '../providers/types.js';
import type { Settings } from '../config/settings.js';
import type { LiveFeed } from './live.js';

/** What every page of the console reads from. */
export interface ConsoleContext {
  /** The console's own connection: it sees what any process commits to the file. */
  db: DB;
  dbPath: string;
  settings: Settings;
  providers: ReadonlyMap<ProviderName, Provider>;
  /** `/<token>/`: pages link relative to it. */
  base: string;
  /** Present inside `listen --ui`. */
  live?: LiveFeed;
}

export function modeLabel(ctx: ConsoleContext): string {
  return ctx.live ? `live: receiver on ${ctx.live.receiverUrl}` : `database ${ctx.dbPath}`;
}
