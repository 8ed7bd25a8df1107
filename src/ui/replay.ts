import { HttpClient } from '../net/http-client.js';
import { headerPairs, type DeliveryRow } from '../store/deliveries.js';
import { resendDelivery } from '../receiver/resend.js';
import { errorMessage } from '../errors.js';
import type { ConsoleContext } from './context.js';

/** The Replay button: one stored delivery sent again, and what the target answered. */

export type ReplayMode = 'resign' | 'exact';

export interface ReplayAnswer {
  id: number;
  url: string;
  mode: ReplayMode;
  http_status: number | null;
  latency_ms: number;
  /** The target's answer body (its reason when it refuses). */
  body?: string;
  error?: string;
}

const client = new HttpClient({ timeoutMs: 15_000, maxRetries: 0 });

export async function replayFromConsole(_ctx: ConsoleContext, row: DeliveryRow, url: string, mode: ReplayMode): Promise<ReplayAnswer> {
  const base = { id: row.id, url, mode };
  if (mode === 'resign') {
    return { ...base, http_status: null, latency_ms: 0, error: 're-signed replay is not available in this version; choose byte-exact' };
  }
  const started = performance.now();
  try {
    const sent = await resendDelivery(client, url, { method: row.method, headers: headerPairs(row), body: row.body });
    return { ...base, http_status: sent.status, latency_ms: sent.latencyMs };
  } catch (err) {
    return { ...base, http_status: null, latency_ms: Math.round(performance.now() - started), error: errorMessage(err) };
  }
}
