import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { header, type Verification } from '../types.js';

/**
 * Oura signs `<x-oura-timestamp><raw body>` with HMAC-SHA256 keyed by the application's
 * client secret and sends the hex digest (upper case) in `x-oura-signature`. Oura documents
 * no replay window, so wearhook applies the Standard Webhooks one (5 minutes either way).
 */
export const OURA_TOLERANCE_SECONDS = 5 * 60;

/** The upper-case hex signature Oura would send for `body` at `timestamp` (unix seconds). */
export function signOura(clientSecret: string, timestamp: number | string, body: Buffer | string): string {
  return createHmac('sha256', clientSecret)
    .update(String(timestamp))
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('hex')
    .toUpperCase();
}

/** The headers alone: both present, the signature a SHA-256 hex digest, the timestamp within the window. */
export function checkOuraHeaders(headers: IncomingHttpHeaders, nowMs: number): Verification {
  const timestamp = header(headers, 'x-oura-timestamp');
  const signature = header(headers, 'x-oura-signature');
  if (!timestamp || !signature) return { ok: false, reason: 'missing x-oura-timestamp or x-oura-signature header' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'x-oura-timestamp is not unix seconds' };
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (skew < -OURA_TOLERANCE_SECONDS) return { ok: false, reason: `timestamp too old (${-skew} s)` };
  if (skew > OURA_TOLERANCE_SECONDS) return { ok: false, reason: `timestamp in the future (${skew} s)` };
  if (!/^[0-9a-fA-F]{64}$/.test(signature.trim())) return { ok: false, reason: 'x-oura-signature is not a SHA-256 hex digest' };
  return { ok: true };
}

export function verifyOura(clientSecret: string, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verification {
  const checked = checkOuraHeaders(headers, nowMs);
  if (!checked.ok) return checked;
  const timestamp = header(headers, 'x-oura-timestamp')!;
  const signature = header(headers, 'x-oura-signature')!;
  // Compare the bytes the hex stands for: upper or lower case, same result, constant time.
  const given = Buffer.from(signature.trim(), 'hex');
  const expected = Buffer.from(signOura(clientSecret, timestamp, body), 'hex');
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'signature does not match' };
}
