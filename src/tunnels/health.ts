import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HttpClient } from '../net/http-client.js';
import { errorMessage } from '../errors.js';

/**
 * End-to-end health of a public URL: a request goes out through the tunnel to the receiver's
 * `GET /healthz?probe=NONCE`, and only this run, holding a key that never leaves the process,
 * can answer with HMAC(key, NONCE). A tunnel provider's error page, another process that got
 * the same URL, or a replayed answer cannot pass.
 */

export const HEALTH_PATH = '/healthz';
const PROBE_TIMEOUT_MS = 10_000;

export function createHealthKey(): Buffer {
  return randomBytes(32);
}

/** What the receiver puts in `proof` when asked `GET /healthz?probe=NONCE`. */
export function healthProof(key: Buffer, probe: string): string {
  return createHmac('sha256', key).update(probe).digest('hex');
}

/** Probes a public URL; resolves to undefined when this run answered, else to why not. */
export type HealthProbe = (publicUrl: string) => Promise<string | undefined>;

export function createHealthProbe(http: HttpClient, key: Buffer, timeoutMs = PROBE_TIMEOUT_MS): HealthProbe {
  return async (publicUrl) => {
    const nonce = randomBytes(16).toString('hex');
    let status: number;
    let body: string;
    try {
      const res = await http.request({
        method: 'GET',
        url: `${publicUrl}${HEALTH_PATH}?probe=${nonce}`,
        // A fresh connection each time, as Oura makes; and no interstitial pages for browsers
        // (localtunnel.me, ngrok).
        headers: { connection: 'close', 'bypass-tunnel-reminder': '1', 'ngrok-skip-browser-warning': '1', accept: 'application/json' },
        retry: 'never',
        timeoutMs,
      });
      status = res.status;
      body = res.text();
    } catch (err) {
      return errorMessage(err).replace(/\.$/, '');
    }
    if (status !== 200) return `${publicUrl} answered ${status}`;
    let proof: unknown;
    try {
      proof = (JSON.parse(body) as { proof?: unknown }).proof;
    } catch {
      proof = undefined;
    }
    const expected = Buffer.from(healthProof(key, nonce));
    const given = Buffer.from(typeof proof === 'string' ? proof : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return `${publicUrl} answered, but not as this wearhook run (is another process on that URL?)`;
    }
    return undefined;
  };
}
