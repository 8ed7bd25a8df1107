import { RuntimeError, errorMessage } from '../errors.js';
import { HttpClient } from '../net/http-client.js';
import { providerRouteUrl } from '../net/target-url.js';
import { redactUrl } from '../config/setting-keys.js';
import type { ProviderConfig } from '../providers/registry.js';
import type { DB } from '../store/db.js';
import { getDelivery, headerPairs, type DeliveryRow } from '../store/deliveries.js';
import { endToEndHeaders, headerObject } from './headers.js';
import { resignHeaders, signingSecret } from './resign.js';

/**
 * The replay core (`events replay`, and the web console's Replay button): send one stored
 * delivery to a URL again, either byte for byte with its original headers (signatures and
 * timestamps included, so a receiver with a replay window refuses anything older than
 * 5 minutes) or re-signed now with the configured secret of its provider. One attempt, no
 * retries: the point is to see what the receiver answers, status and body.
 */

export interface ReplayOptions {
  /** Sign anew with the configured secret (fresh id and timestamp) instead of sending the original signature. */
  resign: boolean;
  /** The signing secrets; needed with `resign`. */
  signing?: ProviderConfig;
  client?: HttpClient;
  now?: () => Date;
}

export interface ReplayResult {
  id: number;
  provider: string;
  event_type: string | null;
  /** Where it went: `--to`, with `/<provider>` added when it had no path. */
  url: string;
  resigned: boolean;
  /** The receiver's status; null when no answer came (refused, reset, timed out). */
  http_status: number | null;
  /** The receiver's answer body (UTF-8, at most 64 KiB), which says why it refused. */
  response: string | null;
  response_truncated: boolean;
  latency_ms: number;
  /** Why nothing was answered. */
  error?: string;
}

const RESPONSE_LIMIT = 64 * 1024;

export function isAccepted(result: Pick<ReplayResult, 'http_status'>): boolean {
  return result.http_status !== null && result.http_status >= 200 && result.http_status < 300;
}

/** Send one stored delivery row to `to`. */
export async function replayRow(row: DeliveryRow, to: string, options: ReplayOptions): Promise<ReplayResult> {
  const url = providerRouteUrl(to, row.provider);
  let pairs = endToEndHeaders(headerPairs(row));
  if (options.resign) pairs = resignHeaders(row.provider, pairs, row.body, options.signing ?? { secrets: {} }, options.now?.() ?? new Date());
  const client = options.client ?? new HttpClient({ timeoutMs: 15_000 });
  // Shown without the credentials the URL may carry (they are sent as Basic authentication).
  const base = { id: row.id, provider: row.provider, event_type: row.event_type, url: redactUrl(url), resigned: options.resign };
  const started = performance.now();
  try {
    const res = await client.request({
      method: row.method === 'GET' ? 'GET' : 'POST',
      url,
      headers: headerObject(pairs),
      body: row.method === 'GET' ? undefined : row.body,
      retry: 'never',
    });
    const truncated = res.body.length > RESPONSE_LIMIT;
    return {
      ...base,
      http_status: res.status,
      response: res.body.subarray(0, RESPONSE_LIMIT).toString('utf8'),
      response_truncated: truncated,
      latency_ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    return { ...base, http_status: null, response: null, response_truncated: false, latency_ms: Math.round(performance.now() - started), error: errorMessage(err) };
  }
}

/** Replay the stored delivery `id` to `to`: its status and answer body. An unknown id throws. */
export async function replayDelivery(db: DB, id: number, to: string, options: ReplayOptions): Promise<ReplayResult> {
  const row = getDelivery(db, id);
  if (!row) throw new RuntimeError(`There is no delivery #${id}; see \`wearhook events list\`.`);
  return replayRow(row, to, options);
}

/** Several, one after another in the order given (the order they arrived in, for `--since`). */
export async function replayRows(rows: readonly DeliveryRow[], to: string, options: ReplayOptions): Promise<ReplayResult[]> {
  // A missing secret is found before anything is sent, not halfway through.
  if (options.resign) for (const provider of new Set(rows.map((r) => r.provider))) signingSecret(provider, options.signing ?? { secrets: {} });
  const client = options.client ?? new HttpClient({ timeoutMs: 15_000 });
  const results: ReplayResult[] = [];
  for (const row of rows) results.push(await replayRow(row, to, { ...options, client }));
  return results;
}
