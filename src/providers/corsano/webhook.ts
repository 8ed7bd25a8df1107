import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { asRecord, header, storeWork, stringField, type Provider, type Work } from '../types.js';
import { isoAtOffset, localDay, offsetMinutes } from '../../util/iso.js';
import type { SampleInput } from '../../store/samples.js';

/**
 * Corsano (experimental). Corsano documents a shared secret and "HMAC signature validation"
 * but not the header, the encoding or the signed content, so wearhook assumes HMAC-SHA256
 * over the raw body, reads it from a configurable header, and accepts hex or base64
 * (with or without a `sha256=` prefix). There is no timestamp to bound replays; the
 * dedupe key is the body's hash, so a replay is stored once.
 */
export const DEFAULT_CORSANO_SIGNATURE_HEADER = 'x-signature';

export function signCorsano(secret: string, body: Buffer | string, encoding: 'hex' | 'base64' = 'hex'): string {
  return createHmac('sha256', secret).update(body).digest(encoding);
}

function decodeSignature(value: string): Buffer | undefined {
  const text = value.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text, 'base64');
  return undefined;
}

/** Which sample fields become series, with their unit; `positive` ones use 0 for "no reading". */
const SERIES: Record<string, { unit: string | null; positive: boolean }> = {
  bpm: { unit: 'bpm', positive: true },
  spo2: { unit: '%', positive: true },
  respiration_rate: { unit: 'rpm', positive: true },
  nibp_systolic: { unit: 'mmHg', positive: true },
  nibp_diastolic: { unit: 'mmHg', positive: true },
  last_steps: { unit: 'steps', positive: false },
  energy_exp: { unit: null, positive: false },
  wearing: { unit: null, positive: false },
  temp_sk1: { unit: null, positive: false },
  temp_sk2: { unit: null, positive: false },
  temp_amb: { unit: null, positive: false },
};

/** The object that holds `user_uuid` and the batches: `data` in the documented envelope, the payload itself in Corsano's example. */
function container(payload: unknown): Record<string, unknown> | undefined {
  const envelope = asRecord(payload);
  const inner = asRecord(envelope?.data);
  return inner && 'user_uuid' in inner ? inner : envelope;
}

export function corsanoWork(payload: unknown): Work {
  const body = container(payload);
  const userId = stringField(body, 'user_uuid');
  if (!body || !userId || !Array.isArray(body.data)) return storeWork();
  const samples: SampleInput[] = [];
  for (const batch of body.data) {
    for (const item of Array.isArray(batch) ? batch : [batch]) {
      const sample = asRecord(item);
      const epochMs = Number(stringField(sample, 'timestamp'));
      if (!sample || !Number.isFinite(epochMs)) continue;
      const timestamp = isoAtOffset(epochMs, offsetMinutes(stringField(sample, 'timezone') ?? 'Z') ?? 0);
      for (const [field, series] of Object.entries(SERIES)) {
        const raw = stringField(sample, field);
        const value = raw === undefined ? NaN : Number(raw);
        if (!Number.isFinite(value) || (series.positive && value <= 0)) continue;
        samples.push({ provider: 'corsano', userId, seriesType: field, timestamp, day: localDay(timestamp)!, value, unit: series.unit });
      }
    }
  }
  return storeWork({ samples });
}

export function corsanoProvider(secret: string | undefined, signatureHeader = DEFAULT_CORSANO_SIGNATURE_HEADER): Provider {
  return {
    name: 'corsano',
    configured: Boolean(secret),
    checkHeaders(headers) {
      if (!secret) return { ok: false, reason: 'no Corsano secret configured (WEARHOOK_SECRET_CORSANO)' };
      const value = header(headers, signatureHeader);
      if (!value) return { ok: false, reason: `missing ${signatureHeader} header` };
      if (!decodeSignature(value)) return { ok: false, reason: `${signatureHeader} is neither hex nor base64 SHA-256` };
      return { ok: true };
    },
    verify(request, nowMs) {
      const checked = this.checkHeaders(request.headers, nowMs);
      if (!checked.ok || !secret) return checked;
      const given = decodeSignature(header(request.headers, signatureHeader)!)!;
      const expected = createHmac('sha256', secret).update(request.body).digest();
      return given.length === expected.length && timingSafeEqual(given, expected)
        ? { ok: true }
        : { ok: false, reason: 'signature does not match' };
    },
    describe(payload, request) {
      const envelope = asRecord(payload);
      return {
        dedupeKey: `corsano:${createHash('sha256').update(request.body).digest('hex')}`,
        eventType: stringField(envelope, 'type') ?? stringField(envelope, 'event_type') ?? null,
        userId: stringField(container(payload), 'user_uuid') ?? null,
      };
    },
    work: corsanoWork,
  };
}
