import type { DB } from './db.js';
import { accountKey } from './participants.js';

/**
 * What the completeness report reads besides the export's own rows: which days hold any data
 * at all, Corsano's worn minutes, the last delivery and sync of each account, the state of a
 * sender's connection, and the subscriptions' expiry. Each query uses an index; the report
 * may be asked for often (the web console draws it).
 */

export interface Account {
  provider: string;
  userId: string;
}

/**
 * The days (YYYY-MM-DD, `from`..`to`) on which each account has any current document or any
 * sample, of whatever type: keyed by `accountKey`. One indexed range query per stored type.
 */
export function daysWithData(db: DB, accounts: readonly Account[], from: string, to: string): Map<string, Set<string>> {
  const wanted = new Set(accounts.map((a) => accountKey(a.provider, a.userId)));
  const days = new Map<string, Set<string>>();
  const add = (row: { provider: string; user_id: string; day: string }) => {
    const key = accountKey(row.provider, row.user_id);
    if (!wanted.has(key)) return;
    let set = days.get(key);
    if (!set) days.set(key, (set = new Set()));
    set.add(row.day);
  };
  if (wanted.size === 0) return days;
  const documentTypes = db.prepare('SELECT DISTINCT type FROM documents').pluck().all() as string[];
  const documents = db.prepare(
    `SELECT provider, user_id, day FROM documents
     WHERE type = ? AND day BETWEEN ? AND ? AND deleted = 0 AND superseded_by_run IS NULL
     GROUP BY provider, user_id, day`,
  );
  for (const type of documentTypes) for (const row of documents.iterate(type, from, to)) add(row as never);
  const seriesTypes = db.prepare('SELECT DISTINCT series_type FROM samples').pluck().all() as string[];
  const samples = db.prepare(
    `SELECT provider, user_id, day FROM samples WHERE series_type = ? AND day BETWEEN ? AND ? GROUP BY provider, user_id, day`,
  );
  for (const series of seriesTypes) for (const row of samples.iterate(series, from, to)) add(row as never);
  return days;
}

/** Corsano's `wearing` samples with the worn value (4), as distinct minutes per account and day. */
export function wornMinutes(db: DB, from: string, to: string, wornValue = 4): Map<string, Map<string, number>> {
  const rows = db
    .prepare(
      `SELECT provider, user_id, day, COUNT(DISTINCT epoch_ms / 60000) AS minutes FROM samples
       WHERE series_type = 'wearing' AND day BETWEEN ? AND ? AND value = ?
       GROUP BY provider, user_id, day`,
    )
    .all(from, to, wornValue) as { provider: string; user_id: string; day: string; minutes: number }[];
  const result = new Map<string, Map<string, number>>();
  for (const row of rows) {
    const key = accountKey(row.provider, row.user_id);
    let perDay = result.get(key);
    if (!perDay) result.set(key, (perDay = new Map()));
    perDay.set(row.day, row.minutes);
  }
  return result;
}

/** When the last delivery for this account arrived (ISO 8601 UTC), if any. */
export function lastDeliveryAt(db: DB, account: Account): string | null {
  const row = db.prepare('SELECT MAX(received_at) AS at FROM deliveries WHERE provider = ? AND user_id = ?').get(account.provider, account.userId) as {
    at: string | null;
  };
  return row.at;
}

/** When the last successful sync run of this account finished, if any. */
export function lastSyncAt(db: DB, account: Account): string | null {
  const row = db
    .prepare(`SELECT MAX(finished_at) AS at FROM sync_runs WHERE provider = ? AND user_id = ? AND status = 'ok'`)
    .get(account.provider, account.userId) as { at: string | null };
  return row.at;
}

/** The newest of these events among the account's deliveries (a sender's connection state), if any. */
export function latestEventOf(db: DB, account: Account, eventTypes: readonly string[]): { event_type: string; received_at: string } | undefined {
  if (eventTypes.length === 0) return undefined;
  return db
    .prepare(
      `SELECT event_type, received_at FROM deliveries
       WHERE provider = ? AND user_id = ? AND event_type IN (SELECT value FROM json_each(?))
       ORDER BY received_at DESC, id DESC LIMIT 1`,
    )
    .get(account.provider, account.userId, JSON.stringify(eventTypes)) as { event_type: string; received_at: string } | undefined;
}

/** The stored Oura subscriptions with an expiry (the mirror `subs list` keeps). */
export function subscriptionExpiries(db: DB): { id: string; data_type: string; event_type: string; expiration_time: string }[] {
  return db
    .prepare(`SELECT id, data_type, event_type, expiration_time FROM subscriptions WHERE provider = 'oura' AND expiration_time IS NOT NULL`)
    .all() as { id: string; data_type: string; event_type: string; expiration_time: string }[];
}
