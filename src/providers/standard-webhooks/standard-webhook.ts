import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { header, type Verification } from '../types.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com), the scheme Svix sends for Vital,
 * Open Wearables and others, on one page:
 * - secret `whsec_<base64>`: the base64-decoded bytes are the HMAC key;
 * - headers `webhook-id`, `webhook-timestamp`, `webhook-signature`, or the same with `svix-`;
 * - signed content `<id>.<timestamp>.<exact body bytes>`, HMAC-SHA256, standard base64;
 * - the signature header is a space-separated list of `<version>,<signature>`: any `v1`
 *   entry that matches is enough, other versions (`v1a` is ed25519) are skipped;
 * - a timestamp more than 5 minutes away from now, either way, is refused (replays).
 */

export const TOLERANCE_SECONDS = 5 * 60;
const SECRET_PREFIX = 'whsec_';
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

export interface StandardHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

/** The three headers, from `webhook-*` or else `svix-*` (never a mix of both). */
export function readStandardHeaders(headers: IncomingHttpHeaders): StandardHeaders | undefined {
  for (const brand of ['webhook', 'svix']) {
    const id = header(headers, `${brand}-id`);
    const timestamp = header(headers, `${brand}-timestamp`);
    const signature = header(headers, `${brand}-signature`);
    if (id && timestamp && signature) return { id, timestamp, signature };
  }
  return undefined;
}

/** The headers alone: all three present, the timestamp unix seconds within the window. */
export function checkStandardHeaders(headers: IncomingHttpHeaders, nowMs: number): Verification {
  const parts = readStandardHeaders(headers);
  if (!parts) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
  if (!/^\d{1,12}$/.test(parts.timestamp)) return { ok: false, reason: 'webhook-timestamp is not unix seconds' };
  const skew = Number(parts.timestamp) - Math.floor(nowMs / 1000);
  if (skew < -TOLERANCE_SECONDS) return { ok: false, reason: `timestamp too old (${-skew} s)` };
  if (skew > TOLERANCE_SECONDS) return { ok: false, reason: `timestamp in the future (${skew} s)` };
  return { ok: true };
}

export class InvalidSecret extends Error {}

export class StandardWebhook {
  private readonly key: Buffer;

  /** Throws InvalidSecret when `secret` is not `whsec_` (optional) followed by base64. */
  constructor(secret: string) {
    const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
    if (!BASE64_RE.test(encoded)) throw new InvalidSecret('a Standard Webhooks secret is whsec_ followed by base64');
    this.key = Buffer.from(encoded, 'base64');
  }

  /** The `v1,<base64>` signature of a message. */
  sign(id: string, timestampSeconds: number | string, body: Buffer | string): string {
    const mac = createHmac('sha256', this.key)
      .update(`${id}.${timestampSeconds}.`)
      .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
      .digest('base64');
    return `v1,${mac}`;
  }

  verify(headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verification {
    const checked = checkStandardHeaders(headers, nowMs);
    if (!checked.ok) return checked;
    const parts = readStandardHeaders(headers)!;
    const expected = Buffer.from(this.sign(parts.id, parts.timestamp, body).slice(3));
    for (const entry of parts.signature.split(' ')) {
      const comma = entry.indexOf(',');
      if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
      const given = Buffer.from(entry.slice(comma + 1));
      if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
    }
    return { ok: false, reason: 'no matching v1 signature' };
  }
}

/** Headers that sign `body` as a Standard Webhooks message (`trigger` and tests use it). */
export function signStandardHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: Buffer | string,
  brand: 'webhook' | 'svix' = 'webhook',
): Record<string, string> {
  const signature = new StandardWebhook(secret).sign(id, timestampSeconds, body);
  return { [`${brand}-id`]: id, [`${brand}-timestamp`]: String(timestampSeconds), [`${brand}-signature`]: signature };
}
