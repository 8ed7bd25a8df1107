import { createHash, timingSafeEqual } from 'node:crypto';
import { checkOuraHeaders, verifyOura } from './verify.js';
import { asRecord, InvalidPayload, storeWork, stringField, type Provider, type Work } from '../types.js';

/** An Oura webhook notification: ids only, the document is fetched afterwards. */
export interface OuraNotification {
  event_type: string;
  data_type: string;
  object_id?: string;
  event_time?: string;
  user_id: string;
}

export function parseOuraNotification(payload: unknown): OuraNotification {
  const record = asRecord(payload);
  const eventType = stringField(record, 'event_type');
  const dataType = stringField(record, 'data_type');
  const userId = stringField(record, 'user_id');
  if (!eventType || !dataType || !userId) {
    throw new InvalidPayload('an Oura notification needs event_type, data_type and user_id');
  }
  return {
    event_type: eventType,
    data_type: dataType,
    object_id: stringField(record, 'object_id'),
    event_time: stringField(record, 'event_time'),
    user_id: userId,
  };
}

/** `sleep.create`: the name `--events oura:sleep.*` filters on. */
export function ouraEventName(n: Pick<OuraNotification, 'data_type' | 'event_type'>): string {
  return `${n.data_type}.${n.event_type}`;
}

/**
 * Oura retries with the same notification: the same user, data type, event type, object and
 * event time is the same delivery (a notification without event_time is keyed by its bytes).
 * The fields are hashed as a JSON array, so no two different notifications share a key (joined
 * with ':' they did: object "x" at "t:1" and object "x:t" at "1").
 */
export function ouraDedupeKey(n: OuraNotification, body: Buffer): string {
  const fields = [n.user_id, n.data_type, n.event_type, n.object_id ?? null, n.event_time ?? null, n.event_time ? null : sha256Hex(body)];
  return `oura:${sha256Hex(JSON.stringify(fields))}`;
}

export function ouraProvider(clientSecret: string | undefined): Provider {
  return {
    name: 'oura',
    configured: Boolean(clientSecret),
    checkHeaders: (headers, nowMs) =>
      clientSecret ? checkOuraHeaders(headers, nowMs) : { ok: false, reason: 'no Oura client secret configured (OURA_CLIENT_SECRET)' },
    verify: (request, nowMs) =>
      clientSecret
        ? verifyOura(clientSecret, request.headers, request.body, nowMs)
        : { ok: false, reason: 'no Oura client secret configured (OURA_CLIENT_SECRET)' },
    describe(payload, request) {
      const n = parseOuraNotification(payload);
      return { dedupeKey: ouraDedupeKey(n, request.body), eventType: ouraEventName(n), userId: n.user_id };
    },
    work(payload): Work {
      const n = parseOuraNotification(payload);
      if (!n.object_id) throw new InvalidPayload('the Oura notification has no object_id, so there is no document to fetch');
      if (n.event_type === 'delete') {
        return storeWork({ deletions: [{ provider: 'oura', type: n.data_type, id: n.object_id }] });
      }
      return { kind: 'fetch-oura', userId: n.user_id, dataType: n.data_type, objectId: n.object_id };
    },
  };
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Oura's challenge: does `given` equal one of the accepted verification tokens? Tokens are
 * known only as SHA-256 hex digests (the database never holds a token); comparing digests
 * in constant time leaks nothing about the tokens.
 */
export function verificationTokenMatches(given: string, acceptedSha256Hex: readonly string[]): boolean {
  const digest = Buffer.from(sha256Hex(given), 'hex');
  let match = false;
  for (const hex of acceptedSha256Hex) {
    const candidate = Buffer.from(hex, 'hex');
    if (candidate.length === digest.length && timingSafeEqual(candidate, digest)) match = true;
  }
  return match;
}
