import type { HttpClient, RetryPolicy } from '../net/http-client.js';
import type { HeaderPairs } from '../store/deliveries.js';

/** Headers that describe one connection, not the delivery: the new request makes its own. */
const CONNECTION_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-connection',
  'proxy-authorization',
]);

export function resendHeaders(pairs: HeaderPairs): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    if (CONNECTION_HEADERS.has(key)) continue;
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return headers;
}

export interface ResendResult {
  status: number;
  latencyMs: number;
}

/**
 * Send a stored delivery on (`--forward-to`, `events replay`): the exact body bytes and the
 * original headers, signatures included, so the receiving app can verify it as usual.
 */
export async function resendDelivery(
  client: HttpClient,
  url: string,
  delivery: { method: string; headers: HeaderPairs; body: Buffer },
  retry: RetryPolicy = 'unsafe',
  signal?: AbortSignal,
): Promise<ResendResult> {
  const started = performance.now();
  const res = await client.request({
    method: delivery.method === 'GET' ? 'GET' : 'POST',
    url,
    headers: resendHeaders(delivery.headers),
    body: delivery.body,
    retry,
    signal,
  });
  return { status: res.status, latencyMs: Math.round(performance.now() - started) };
}
