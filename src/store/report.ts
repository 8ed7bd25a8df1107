import { accountKey } from './participants.js';
import { all, get, inJsonList, sql, type Op } from './sql.js';

/**
 * What the completeness report reads besides the export's own rows: which days hold any data
 * at all, Corsano's worn minutes, the last delivery and sync of each account, the state of a
 * sender's connection, and the subscriptions' expiry. Each query uses an index; the report
 * may be asked for often (the web console draws it). Store operations, for SQLite and
 * PostgreSQL alike (days are compared as YYYY-MM-DD text on both: no date arithmetic in SQL).
 */

export interface Account {
  provider: string;
  userId: string;
}

/**
 * The days (YYYY-MM-DD, `from`..`to`) on which each account has any current document or any
 * sample, of whatever type: keyed by `accountKey`. One indexed range query per stored type.
 */
export function* daysWithDataOp(accounts: readonly Account[], from: string, to: string): Op<Map<string, Set<string>>> {
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
  type DayRow = { provider: string; user_id: string; day: string };
  for (const { type } of yield* all<{ type: string }>('SELECT DISTINCT type FROM documents')) {
    const rows = yield* all<DayRow>(
      `SELECT provider, user_id, day FROM documents
       WHERE type = ? AND day BETWEEN ? AND ? AND deleted = 0 AND superseded_by_run IS NULL
       GROUP BY provider, user_id, day`,
      [type, from, to],
    );
    rows.forEach(add);
  }
  for (const { series_type } of yield* all<{ series_type: string }>('SELECT DISTINCT series_type FROM samples')) {
    const rows = yield* all<DayRow>(
      `SELECT provider, user_id, day FROM samples WHERE series_type = ? AND day BETWEEN ? AND ? GROUP BY provider, user_id, day`,
      [series_type, from, to],
    );
    rows.forEach(add);
  }
  return days;
}

/** Corsano's `wearing` samples with the worn value (4), as distinct minutes per account and day. */
export function* wornMinutesOp(from: string, to: string, wornValue = 4): Op<Map<string, Map<string, number>>> {
  // epoch_ms is an integer on both engines: the division truncates to the minute on both.
  const rows = yield* all<{ provider: string; user_id: string; day: string; minutes: number }>(
    `SELECT provider, user_id, day, COUNT(DISTINCT epoch_ms / 60000) AS minutes FROM samples
     WHERE series_type = 'wearing' AND day BETWEEN ? AND ? AND value = ?
     GROUP BY provider, user_id, day`,
    [from, to, wornValue],
  );
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
export function* lastDeliveryAtOp(account: Account): Op<string | null> {
  const row = yield* get<{ at: string | null }>('SELECT MAX(received_at) AS at FROM deliveries WHERE provider = ? AND user_id = ?', [account.provider, account.userId]);
  return row?.at ?? null;
}

/** When the last successful sync run of this account finished, if any. */
export function* lastSyncAtOp(account: Account): Op<string | null> {
  const row = yield* get<{ at: string | null }>(`SELECT MAX(finished_at) AS at FROM sync_runs WHERE provider = ? AND user_id = ? AND status = 'ok'`, [
    account.provider,
    account.userId,
  ]);
  return row?.at ?? null;
}

/** The newest of these events among the account's deliveries (a sender's connection state), if any. */
export function* latestEventOfOp(account: Account, eventTypes: readonly string[]): Op<{ event_type: string; received_at: string } | undefined> {
  if (eventTypes.length === 0) return undefined;
  return yield* get<{ event_type: string; received_at: string }>(
    sql`SELECT event_type, received_at FROM deliveries
     WHERE provider = ? AND user_id = ? AND ${inJsonList('event_type', '?')}
     ORDER BY received_at DESC, id DESC LIMIT 1`,
    [account.provider, account.userId, JSON.stringify(eventTypes)],
  );
}

/** The stored Oura subscriptions with an expiry (the mirror `subs list` keeps). */
export function* subscriptionExpiriesOp(): Op<{ id: string; data_type: string; event_type: string; expiration_time: string }[]> {
  return yield* all<{ id: string; data_type: string; event_type: string; expiration_time: string }>(
    `SELECT id, data_type, event_type, expiration_time FROM subscriptions WHERE provider = 'oura' AND expiration_time IS NOT NULL`,
  );
}
