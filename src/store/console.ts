import type { DB } from './db.js';
import type { DeliveryStatus } from './deliveries.js';
import { all, dialect, get, inJsonList, sql, sqlFor, type Op, type Sql } from './sql.js';

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

/** `length` of a blob (SQLite) or a bytea (PostgreSQL) counts its bytes on both. */
const LIST_COLUMNS = `id, provider, received_at, event_type, user_id, status, attempts, error, processed_at, next_attempt_at, length(body) AS bytes`;

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A shell-style glob (`*`, `?`) as a LIKE pattern, for PostgreSQL, which has no GLOB. */
function likeGlob(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%').replace(/\?/g, '_');
}

/** Newest first, like `events list`. */
export function* searchDeliveriesOp(search: DeliverySearch): Op<DeliveryListRow[]> {
  const d = yield* dialect();
  const pg = d === 'postgres';
  const where: string[] = [];
  // No limit: -1 on SQLite, NULL (LIMIT ALL) on PostgreSQL.
  const params: Record<string, unknown> = { limit: search.limit ?? (pg ? null : -1) };
  if (search.provider) {
    where.push('provider = @provider');
    params.provider = search.provider;
  }
  if (search.status) {
    where.push('status = @status');
    params.status = search.status;
  }
  if (search.event) {
    where.push(pg ? `event_type LIKE @event ESCAPE '\\'` : 'event_type GLOB @event');
    params.event = pg ? likeGlob(search.event) : search.event;
  }
  if (search.text) {
    // Without case for ASCII letters on both (SQLite's LIKE, PostgreSQL's ILIKE); the body's bytes as text whatever they are.
    const like = pg ? 'ILIKE' : 'LIKE';
    const body = pg ? `encode(body, 'escape')` : 'CAST(body AS TEXT)';
    where.push(
      `(event_type ${like} @text ESCAPE '\\' OR user_id ${like} @text ESCAPE '\\' OR dedupe_key ${like} @text ESCAPE '\\'
        OR error ${like} @text ESCAPE '\\' OR ${body} ${like} @text ESCAPE '\\' OR CAST(id AS TEXT) = @exact)`,
    );
    params.text = likePattern(search.text);
    params.exact = search.text.replace(/^#/, '');
  }
  if (search.ids) {
    where.push(sqlFor(inJsonList('id', '@ids', 'bigint'), d));
    params.ids = JSON.stringify(search.ids);
  }
  if (search.beforeId !== undefined) {
    where.push('id < @beforeId');
    params.beforeId = search.beforeId;
  }
  return yield* all<DeliveryListRow>(`SELECT ${LIST_COLUMNS} FROM deliveries ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT @limit`, params);
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
export function* deliveryStatesOp(afterId: number, watched: readonly number[]): Op<DeliveryState[]> {
  return yield* all<DeliveryState>(
    sql`SELECT id, status, attempts, error, next_attempt_at FROM deliveries
     WHERE id > ? OR ${inJsonList('id', '?', 'bigint')} ORDER BY id`,
    [afterId, JSON.stringify(watched)],
  );
}

export function* newestDeliveryIdOp(): Op<number> {
  return (yield* get<{ id: number }>('SELECT COALESCE(MAX(id), 0) AS id FROM deliveries'))!.id;
}

/** Open work (received or pending), oldest first: the rows whose status can still change. */
export function* openDeliveryIdsOp(): Op<number[]> {
  return (yield* all<{ id: number }>(`SELECT id FROM deliveries WHERE status IN ('received', 'pending') ORDER BY id`)).map((r) => r.id);
}

/** The newest day with any data (documents or samples) of these accounts; null when none. */
export function* latestDataDayOp(accounts: readonly { provider: string; user_id: string }[]): Op<string | null> {
  const pairs = JSON.stringify(accounts.map((a) => [a.provider, a.user_id]));
  const wanted: Sql = {
    sqlite: `SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?)`,
    postgres: `SELECT value->>0, value->>1 FROM json_array_elements(CAST(? AS json)) AS value`,
  };
  const row = yield* get<{ day: string | null }>(
    sql`WITH a(provider, user_id) AS (${wanted})
     SELECT MAX(day) AS day FROM (
       SELECT MAX(d.day) AS day FROM documents d JOIN a ON d.provider = a.provider AND d.user_id = a.user_id WHERE d.deleted = 0
       UNION ALL
       SELECT MAX(s.day) FROM samples s JOIN a ON s.provider = a.provider AND s.user_id = a.user_id) AS days`,
    [pairs],
  );
  return row?.day ?? null;
}
