import type { DeliveryRow } from './deliveries.js';
import { all, dialect, type Dialect, type Op } from './sql.js';

/** What `events list|tail|replay` search the delivery log by. */
export interface DeliveryFilter {
  provider?: string;
  status?: string;
  /** Event-name globs (`*` any text), any of which may match, e.g. `sleep.*` or `daily.data.*`. */
  events?: readonly string[];
  user?: string;
  /** Text the body contains, case-insensitive for ASCII letters. */
  grep?: string;
  since?: Date;
  until?: Date;
  /** Only deliveries with an id up to this one. */
  throughId?: number;
  limit?: number;
}

/** A listen-style glob (only `*` is special) as an SQLite GLOB pattern, where `?` and `[` are special too. */
function sqlGlob(glob: string): string {
  return glob.replace(/[?[]/g, (c) => `[${c}]`);
}

function likeText(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The same glob as a LIKE pattern (PostgreSQL has no GLOB): `*` is `%`, and `%`, `_`, `\\` are literal. */
function likeGlob(glob: string): string {
  return glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
}

function where(filter: DeliveryFilter, params: Record<string, unknown>, d: Dialect = 'sqlite'): string[] {
  const clauses: string[] = [];
  if (filter.provider) {
    clauses.push('provider = @provider');
    params.provider = filter.provider;
  }
  if (filter.status) {
    clauses.push('status = @status');
    params.status = filter.status;
  }
  if (filter.events?.length) {
    const match = d === 'postgres' ? (i: number) => `event_type LIKE @event${i} ESCAPE '\\'` : (i: number) => `event_type GLOB @event${i}`;
    clauses.push(`(${filter.events.map((_, i) => match(i)).join(' OR ')})`);
    filter.events.forEach((glob, i) => (params[`event${i}`] = d === 'postgres' ? likeGlob(glob) : sqlGlob(glob)));
  }
  if (filter.user !== undefined) {
    clauses.push('user_id = @user');
    params.user = filter.user;
  }
  if (filter.grep) {
    // PostgreSQL: the body's bytes as text whatever they are (escape encoding), matched without case.
    clauses.push(d === 'postgres' ? `encode(body, 'escape') ILIKE @grep ESCAPE '\\'` : `CAST(body AS TEXT) LIKE @grep ESCAPE '\\'`);
    params.grep = likeText(filter.grep);
  }
  if (filter.throughId !== undefined) {
    clauses.push('id <= @throughId');
    params.throughId = filter.throughId;
  }
  if (filter.since) {
    clauses.push('received_at >= @since');
    params.since = filter.since.toISOString();
  }
  if (filter.until) {
    clauses.push('received_at <= @until');
    params.until = filter.until.toISOString();
  }
  return clauses;
}

/** Newest first. */
export function* listDeliveriesOp(filter: DeliveryFilter = {}): Op<DeliveryRow[]> {
  const d = yield* dialect();
  // No limit: -1 to SQLite, NULL (LIMIT ALL) to PostgreSQL.
  const params: Record<string, unknown> = { limit: filter.limit ?? (d === 'postgres' ? null : -1) };
  const clauses = where(filter, params, d);
  return yield* all<DeliveryRow>(`SELECT * FROM deliveries ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY received_at DESC, id DESC LIMIT @limit`, params);
}

/** Oldest first: the order they arrived in, for replay. */
export function* deliveriesSinceOp(since: Date): Op<DeliveryRow[]> {
  return yield* all<DeliveryRow>('SELECT * FROM deliveries WHERE received_at >= ? ORDER BY received_at, id', [since.toISOString()]);
}

/** Deliveries stored after `afterId` that match, oldest first, at most `limit`: what `events tail --follow` prints next. */
export function* deliveriesAfterOp(afterId: number, filter: DeliveryFilter, limit: number): Op<DeliveryRow[]> {
  const d = yield* dialect();
  const params: Record<string, unknown> = { afterId, limit };
  const clauses = ['id > @afterId', ...where(filter, params, d)];
  return yield* all<DeliveryRow>(`SELECT * FROM deliveries WHERE ${clauses.join(' AND ')} ORDER BY id LIMIT @limit`, params);
}
