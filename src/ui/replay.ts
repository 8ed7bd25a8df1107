import type { DeliveryRow } from '../store/deliveries.js';
import { providerConfigFromSettings } from '../providers/registry.js';
import { replayRow, type ReplayResult } from '../forward/replay.js';
import type { ConsoleContext } from './context.js';

/** The Replay button: one stored delivery sent again by the replay core of `events replay`. */

export type ReplayMode = 'resign' | 'exact';

export function replayFromConsole(ctx: ConsoleContext, row: DeliveryRow, url: string, mode: ReplayMode): Promise<ReplayResult> {
  return replayRow(row, url, { resign: mode === 'resign', signing: providerConfigFromSettings(ctx.settings) });
}
