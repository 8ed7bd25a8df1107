import { createHash } from 'node:crypto';
import type { DB } from './db.js';

/**
 * Migration 8. Oura dedupe keys were `oura:<user>:<type>:<event>:<object>:<time>`, so two
 * different notifications could share one ("x" at "t:1", "x:t" at "1") and the second was
 * answered as a duplicate and never stored. Keys are now `oura:` + the SHA-256 of the fields as a
 * JSON array; every stored Oura delivery gets its new key, so that a retry of one stored before
 * the upgrade is still recognised. Written out here rather than calling the provider's code: a
 * shipped migration must not change when that code does.
 */
export function rekeyOuraDeliveries(db: DB): void {
  const rows = db.prepare("SELECT id, body FROM deliveries WHERE provider = 'oura'").iterate() as IterableIterator<{ id: number; body: Buffer }>;
  const update = db.prepare('UPDATE deliveries SET dedupe_key = ? WHERE id = ?');
  const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
  const changes: [string, number][] = [];
  for (const row of rows) {
    const n = notification(row.body);
    // A body that is not a notification was never stored by the receiver; it keeps its key (none of the new form).
    if (!n) continue;
    const fields = [n.user_id, n.data_type, n.event_type, n.object_id, n.event_time, n.event_time ? null : sha256(row.body)];
    changes.push([`oura:${sha256(JSON.stringify(fields))}`, row.id]);
  }
  for (const [key, id] of changes) update.run(key, id);
}

/** The fields the receiver read (strings; numbers as their text; empty as absent), or undefined. */
function notification(body: Buffer) {
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
  const record = payload as Record<string, unknown>;
  const field = (key: string): string | null => {
    const value = record[key];
    if (typeof value === 'string' && value !== '') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return null;
  };
  const [user_id, data_type, event_type] = [field('user_id'), field('data_type'), field('event_type')];
  if (!user_id || !data_type || !event_type) return undefined;
  return { user_id, data_type, event_type, object_id: field('object_id'), event_time: field('event_time') };
}
