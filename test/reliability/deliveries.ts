import { request } from 'undici';
import { openDatabase } from '../../src/store/db.js';
import { buildPayload } from '../../src/trigger/payloads.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from '../helpers/signing.js';

/**
 * Deliveries as the senders make them, signed at each attempt (a retry carries a fresh
 * timestamp but the same body and id, as Oura and Standard Webhooks senders retry).
 */
export interface Delivery {
  /** Unique per delivery: the Oura object id or the Standard Webhooks message id. */
  key: string;
  route: '/oura' | '/vital' | '/standard';
  body: string;
  headers(): Record<string, string>;
}

export const OURA_USER = 'reliability-oura-user';

export function ouraNotification(objectId: string): Delivery {
  const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: objectId, event_time: '2026-03-02T07:45:00+00:00', user_id: OURA_USER });
  return { key: objectId, route: '/oura', body, headers: () => ouraHeaders(TEST_SECRETS.oura, body) };
}

/** A Vital sleep summary of its own user, so that each one normalises into its own document. */
export function vitalSleep(id: string, padding = 0): Delivery {
  const payload = buildPayload('vital', 'daily.data.sleep.created', { now: new Date('2026-03-02T08:00:00Z'), offsetMinutes: 60, userId: `vital-${id}` });
  const body = JSON.stringify(padding > 0 ? { ...(payload as object), padding: 'p'.repeat(padding) } : payload);
  return { key: id, route: '/vital', body, headers: () => standardHeaders(TEST_SECRETS.vital, id, body, { brand: 'svix' }) };
}

export function standardEvent(id: string, n: number): Delivery {
  const body = JSON.stringify({ type: 'reliability.test', timestamp: '2026-03-02T08:00:00Z', data: { user_id: 'standard-user', n } });
  return { key: id, route: '/standard', body, headers: () => standardHeaders(TEST_SECRETS.standard, id, body) };
}

/** The sleep document the Oura fake serves for a notification. */
export function sleepDocument(id: string) {
  return {
    id,
    day: '2026-03-02',
    type: 'long_sleep',
    bedtime_start: '2026-03-02T00:10:00+02:00',
    bedtime_end: '2026-03-02T07:40:00+02:00',
    total_sleep_duration: 25_200,
    average_hrv: 42,
    hrv: { interval: 300, items: [40, null, 44], timestamp: '2026-03-02T00:10:00.000+02:00' },
  };
}

export type Outcome = { status: number; id?: number; duplicate?: boolean } | { status: null; error: string };

export async function post(url: string, delivery: Delivery): Promise<Outcome> {
  try {
    const res = await request(`${url}${delivery.route}`, { method: 'POST', headers: delivery.headers(), body: delivery.body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      const answer = JSON.parse(text) as { id: number; duplicate: boolean };
      return { status: res.statusCode, id: answer.id, duplicate: answer.duplicate };
    }
    return { status: res.statusCode };
  } catch (err) {
    return { status: null, error: (err as Error).message };
  }
}

export interface StoredRow {
  id: number;
  body: Buffer;
  dedupe_key: string;
  status: string;
}

/** What the database holds, read in a connection of our own. */
export function storedRows(dbFile: string): StoredRow[] {
  const db = openDatabase(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT id, body, dedupe_key, status FROM deliveries ORDER BY id').all() as StoredRow[];
  } finally {
    db.close();
  }
}

export function integrityCheck(dbFile: string): string {
  const db = openDatabase(dbFile, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export { holdingOuraProxy } from '../helpers/holding-proxy.js';
