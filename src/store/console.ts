import type { DB } from './db.js';
import type { DeliveryStatus } from './deliveries.js';

/**
 * The queries of the web console (`wearhook ui`): the delivery list with its filters, and what
 * changed since the console last looked, for its live view. Only the columns a list row shows
 * are read (never the body), so a page of hundreds of large deliveries stays cheap.
 */

export interface DeliveryListRow {
  id: number;
  provider: string;
  received_at: string;
  event_type: string | null;
  user_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  error: string | null;
  processed_at: string | null;
  next_attempt_at: string | null;
  bytes: number;
}

export interface DeliverySearch {
  provider?: string;
  status?: string;
  /** A glob on the event name (`sleep.*`, `*.created`); `*` and `?` as in the shell. */
  event?: string;
  /** Case-insensitive text anywhere in the event, user, id, error or body. */
  text?: string;
  /** Only these ids (the live view asks which changed rows match a filter). */
  ids?: readonly number[];
  /** Older than this id (the next page). */
  beforeId?: number;
  limit?: number;
}

const LIST_COLUMNS = `id, provider, received_at, event_type, user_id, status, attempts, error, processed_at, next_attempt_at, length(body) AS bytes`;

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Newest first, like `events list`. */
export function searchDeliveries(db: DB, search: DeliverySearch): DeliveryListRow[] {
  const where: string[] = [];
  const params: Record<string, unknown> = { limit: search.limit ?? -1 };
  if (search.provider) {
    where.push('provider = @provider');
    params.provider = search.provider;
  }
  if (search.status) {
    where.push('status = @status');
    params.status = search.status;
  }
  if (search.event) {
    where.push('event_type GLOB @event');
    params.event = search.event;
  }
  if (search.text) {
    where.push(
      `(event_type LIKE @text ESCAPE '\\' OR user_id LIKE @text ESCAPE '\\' OR dedupe_key LIKE @text ESCAPE '\\'
        OR error LIKE @text ESCAPE '\\' OR CAST(body AS TEXT) LIKE @text ESCAPE '\\' OR CAST(id AS TEXT) = @exact)`,
    );
    params.text = likePattern(search.text);
    params.exact = search.text.replace(/^#/, '');
  }
  if (search.ids) {
    where.push('id IN (SELECT value FROM json_each(@ids))');
    params.ids = JSON.stringify(search.ids);
  }
  if (search.beforeId !== undefined) {
    where.push('id < @beforeId');
    params.beforeId = search.beforeId;
  }
  const sql = `SELECT ${LIST_COLUMNS} FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`;
  return db.prepare(sql).all(params) as DeliveryListRow[];
}

/**
 * Whether anything was committed to the file by another connection since the last call
 * returned this number (SQLite's `data_version`): a cheap poll that costs no read of a table.
 */
export function dataVersion(db: DB): number {
  return db.pragma('data_version', { simple: true }) as number;
}

/** The state of a delivery that the live view compares to tell what changed. */
export interface DeliveryState {
  id: number;
  status: DeliveryStatus;
  attempts: number;
  error: string | null;
  next_attempt_at: string | null;
}

/** Rows newer than `afterId`, plus the current state of the `watched` ones (work still open when last seen). */
export function deliveryStates(db: DB, afterId: number, watched: readonly number[]): DeliveryState[] {
  return db
    .prepare(
      `SELECT id, status, attempts, error, next_attempt_at FROM deliveries
       WHERE id > ? OR id IN (SELECT value FROM json_each(?)) ORDER BY id`,
    )
    .all(afterId, JSON.stringify(watched)) as DeliveryState[];
}

export function newestDeliveryId(db: DB): number {
  return (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM deliveries').get() as { id: number }).id;
}

/** Open work (received or pending), oldest first: the rows whose status can still change. */
export function openDeliveryIds(db: DB): number[] {
  return (db.prepare(`SELECT id FROM deliveries WHERE status IN ('received', 'pending') ORDER BY id`).all() as { id: number }[]).map((r) => r.id);
}

/** The newest day with any data (documents or samples) of these accounts; null when none. */
export function latestDataDay(db: DB, accounts: readonly { provider: string; user_id: string }[]): string | null {
  const pairs = JSON.stringify(accounts.map((a) => [a.provider, a.user_id]));
  const row = db
    .prepare(
      `WITH a(provider, user_id) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
       SELECT MAX(day) AS day FROM (
         SELECT MAX(d.day) AS day FROM documents d JOIN a ON d.provider = a.provider AND d.user_id = a.user_id WHERE d.deleted = 0
         UNION ALL
         SELECT MAX(s.day) FROM samples s JOIN a ON s.provider = a.provider AND s.user_id = a.user_id)`,
    )
    .get(pairs) as { day: string | null };
  return row.day;
}
