import type { Store } from '../store/store.js';
import type { Provider, ProviderName } from '../providers/types.js';
import type { Settings } from '../config/settings.js';
import type { LiveFeed } from './live.js';

/** What every page of the console reads from. */
export interface ConsoleContext {
  /** The console's own store (a SQLite connection, or a PostgreSQL pool): it sees what any process commits. */
  store: Store;
  settings: Settings;
  providers: ReadonlyMap<ProviderName, Provider>;
  /** `/<token>/`: pages link relative to it. */
  base: string;
  /** Present inside `listen --ui`. */
  live?: LiveFeed;
}

export function modeLabel(ctx: ConsoleContext): string {
  // `shown`: a file path, or a PostgreSQL URL with its password redacted.
  return ctx.live ? `live: receiver on ${ctx.live.receiverUrl}` : `database ${ctx.store.shown}`;
}
