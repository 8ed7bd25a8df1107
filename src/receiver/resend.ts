import type { HttpClient, RetryPolicy } from '../net/http-client.js';
import type { HeaderPairs } from '../store/deliveries.js';
import { endToEndHeaders, headerObject } from '../forward/headers.js';

export interface ResendResult {
  status: number;
  latencyMs: number;
}

/**
 * Send a stored delivery on (`--forward-to`): the exact body bytes and the original
 * end-to-end headers, signatures included, so the receiving app can verify it as usual.
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
    headers: headerObject(endToEndHeaders(delivery.headers)),
    body: delivery.body,
    retry,
    signal,
  });
  return { status: res.status, latencyMs: Math.round(performance.now() - started) };
}
