import { all, dialect, get, inJsonList, sql, sqlFor, type Op, type Sql } from './sql.js';
import { addDays, dayCount } from '../util/days.js';

/**
 * The export's queries, written once for SQLite and PostgreSQL: the current, non-superseded
 * versions of documents and the samples of the requested sources, in the contract's order
 * (user, day, time), and who the accounts belong to (label, zone). The rows are mapped to
 * export rows by src/export/query.ts, the same on both engines.
 */

/** One source of a table: documents of (provider, type) or samples of (provider, series). */
export type ExportSourceSpec =
  | { kind: 'document'; provider: string; documentType: string }
  | { kind: 'sample'; provider: string; seriesType: string };

export interface ExportUserFilter {
  from: string;
  to: string;
  /** Restrict to these (provider, user) pairs; undefined = everyone. */
  users?: readonly { provider?: string; userId: string }[];
  /** Documents of tables whose rows have no day (ring configuration) are exported whatever their day. */
  undated?: boolean;
  /**
   * The first and last day of each source of samples (exportSpansOp), in the order of the
   * sources: how SQLite reads them (inKeyOrder). Without them, through the day index.
   */
  spans?: readonly (DaySpan | null)[];
}

export interface DaySpan {
  first: string;
  last: string;
}

/**
 * One row of the export query, as an array (the columns below, in this order): cheaper to
 * build and to read than an object, on both engines, for a million rows. A query over
 * documents alone stops after `version` (the columns of samples would all be NULL).
 */
export type ExportSourceRow = [
  src: number,
  provider: string,
  user_id: string,
  day: string,
  id: string | null,
  data: string | null,
  source: string | null,
  retrieved_at: string | null,
  version: number | null,
  ts?: string | null,
  value?: number | null,
  sleep_id?: string | null,
  sleep_data?: string | null,
  context?: string | null,
];

/** Where each column of ExportSourceRow is. */
export const SRC = {
  src: 0, provider: 1, user_id: 2, day: 3, id: 4, data: 5, source: 6, retrieved_at: 7, version: 8,
  ts: 9, value: 10, sleep_id: 11, sleep_data: 12, context: 13,
} as const;

/**
 * Epoch milliseconds of a document's start time, where rows of one day are ordered; 0 (via
 * COALESCE) when it is not a date-time SQLite reads. A provider's text is stored as it came,
 * so PostgreSQL does not cast it (a malformed one would fail the whole export): it computes
 * the instant from the fields of what has SQLite's form (a date; then a time, seconds with a
 * fraction, an offset or Z), days past a month's end carried over as SQLite does.
 */
const START_MS: Sql = {
  sqlite: `(unixepoch(d.start_time, 'subsec') * 1000)`,
  postgres: `(CASE WHEN d.start_time ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([T ]([01][0-9]|2[0-4]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?)?([+-][0-9]{2}:[0-5][0-9]|[Zz])?$' THEN
    ((make_date(substr(d.start_time, 1, 4)::int, substr(d.start_time, 6, 2)::int, 1) - DATE '1970-01-01') + substr(d.start_time, 9, 2)::int - 1)::bigint * 86400000
    + CASE WHEN length(d.start_time) >= 16 THEN substr(d.start_time, 12, 2)::int * 3600000 + substr(d.start_time, 15, 2)::int * 60000 ELSE 0 END
    + COALESCE(round(substring(d.start_time FROM '^.{16}:([0-9]{2}(?:\\.[0-9]+)?)')::numeric * 1000), 0)
    - COALESCE((CASE WHEN substring(d.start_time FROM '([+-])[0-9]{2}:[0-9]{2}$') = '-' THEN -1 ELSE 1 END)
        * (substring(d.start_time FROM '[+-]([0-9]{2}):[0-9]{2}$')::int * 60 + substring(d.start_time FROM '[+-][0-9]{2}:([0-9]{2})$')::int) * 60000, 0)
  END)`,
};

const SORT_KEY = sql`COALESCE(${START_MS}, 0)`;

/**
 * The one query over every source of a table, sorted by the database (SQLite spills to disk,
 * PostgreSQL reads it through a server-side cursor), so memory stays flat however many rows
 * there are; the rows of one document come together. Samples are asked for a day more on
 * each side: the participant's zone may move a sample's day across midnight (the mapping
 * keeps the rows whose day is in the range). Ties are broken the same way on both engines
 * (NULLs first, text compared byte-wise), so both give the same rows in the same order.
 */
export function exportSourceQuery(sources: readonly ExportSourceSpec[], filter: ExportUserFilter): { sql: Sql; params: unknown[] } | null {
  if (sources.length === 0) return null;
  const parts: Sql[] = [];
  const params: unknown[] = [];
  // Sources read in one SELECT: documents of one type from several providers (Oura's, Vital's
  // and Open Wearables' sleep), in one pass over the index on (type, day), as a SELECT per
  // provider would read every document of that type once per provider to check the provider;
  // samples of several series of one provider (Corsano's vital signs) likewise.
  const groupOf = (source: ExportSourceSpec) => (source.kind === 'document' ? `document ${source.documentType}` : `sample ${source.provider}`);
  const groups = new Map<string, SourceGroup>();
  sources.forEach((source, index) => {
    const member = { value: source.kind === 'document' ? source.provider : source.seriesType, index };
    const group = groups.get(groupOf(source));
    if (group) group.push(member);
    else groups.set(groupOf(source), [member]);
  });
  // One SELECT of documents (most tables) returns neither the columns of samples nor its sort
  // key (ordered by the expression): 13 % less of the query's time for a readiness table.
  const alone = groups.size === 1 && sources.every((s) => s.kind === 'document');
  // The parts stay in the order of the sources (PostgreSQL types a UNION's NULL columns from its first parts).
  sources.forEach((source, index) => {
    const group = groups.get(groupOf(source))!;
    if (group[0]!.index !== index) return; // read with the first source of its group
    if (source.kind === 'document') {
      const users = userFilterSql(filter, 'd');
      const { src, match } = groupSql('d.provider', group);
      parts.push(sql`SELECT ${src.text} AS src, d.provider AS provider, d.user_id AS user_id, d.day AS day, d.id AS id, d.data AS data,
                d.source AS source, d.retrieved_at AS retrieved_at, d.version AS version${alone ? '' : sql`,
                NULL AS ts, NULL AS value, NULL AS sleep_id, NULL AS sleep_data, NULL AS context, ${SORT_KEY} AS sort_key`}
         FROM documents d
         WHERE ${match.text} AND d.type = ? AND d.deleted = 0 AND d.superseded_by_run IS NULL${filter.undated ? '' : ' AND d.day BETWEEN ? AND ?'}${users.sql}`);
      params.push(...src.params, ...match.params, source.documentType, ...(filter.undated ? [] : [filter.from, filter.to]), ...users.params);
    } else {
      const users = userFilterSql(filter, 's');
      const { src, match } = groupSql('s.series_type', group);
      const access = indexedBy(inKeyOrder(group, filter) ? 'sqlite_autoindex_samples_1' : 'samples_by_day');
      parts.push(sql`SELECT ${src.text} AS src, s.provider AS provider, s.user_id AS user_id, s.day AS day, s.source_id AS id, NULL AS data,
                s.source AS source, s.retrieved_at AS retrieved_at, NULL AS version,
                s.timestamp AS ts, s.value AS value, s.sleep_id AS sleep_id, sd.data AS sleep_data, s.context AS context, s.epoch_ms AS sort_key
         FROM samples s${access} LEFT JOIN documents sd ON sd.provider = s.provider AND sd.type = 'sleep' AND sd.id = s.sleep_id
         WHERE s.provider = ? AND ${match.text} AND s.day BETWEEN ? AND ?${users.sql}`);
      params.push(...src.params, source.provider, ...match.params, addDays(filter.from, -1), addDays(filter.to, 1), ...users.params);
    }
  });
  const order = sql`\nORDER BY user_id, day NULLS FIRST, ${alone ? SORT_KEY : 'sort_key'}, provider, id NULLS FIRST, src`;
  const text = (d: 'sqlite' | 'postgres') => parts.map((p) => sqlFor(p, d)).join('\nUNION ALL\n') + sqlFor(order, d);
  return { sql: { sqlite: text('sqlite'), postgres: text('postgres') }, params };
}

/** Sources read in one SELECT, told apart by one column's value (a provider, a series). */
type SourceGroup = { value: string; index: number }[];

/** Which source of `group` a row is (`src`) and the condition on `column` that reads them all, each with its parameters. */
function groupSql(column: string, group: SourceGroup): Record<'src' | 'match', { text: string; params: string[] }> {
  if (group.length === 1) return { src: { text: String(group[0]!.index), params: [] }, match: { text: `${column} = ?`, params: [group[0]!.value] } };
  const values = group.map((g) => g.value);
  return {
    src: { text: `CASE ${column} ${group.map((g) => `WHEN ? THEN ${g.index}`).join(' ')} END`, params: values },
    match: { text: `${column} IN (${group.map(() => '?').join(', ')})`, params: values },
  };
}

function userFilterSql(filter: ExportUserFilter, alias: string): { sql: string; params: string[] } {
  const params: string[] = [];
  if (!filter.users) return { sql: '', params };
  if (filter.users.length === 0) return { sql: ' AND 1 = 0', params };
  const clauses = filter.users.map((u) => {
    if (u.provider) {
      params.push(u.provider, u.userId);
      return `(${alias}.provider = ? AND ${alias}.user_id = ?)`;
    }
    params.push(u.userId);
    return `${alias}.user_id = ?`;
  });
  return { sql: ` AND (${clauses.join(' OR ')})`, params };
}

/**
 * Whether SQLite reads a group of samples in key order rather than through the day index.
 * Through the day index (series, day), each row is a lookup in the table, and all of them are
 * then sorted into the contract's order. In primary-key order (provider, user, series, time)
 * the rows come in sequence, already grouped by user, and only each user's rows are sorted:
 * about twice as fast. But every sample of the provider is visited, so a range of a few days
 * out of years is read through the day index. SQLite keeps no statistics to choose by;
 * PostgreSQL has them, and chooses for itself. (Documents are read through the day index
 * always: in key order, (type, user, day), rows of one day of several users no longer share
 * pages, which cost more than the sort saved for documents of a few hundred bytes.)
 */
function inKeyOrder(group: SourceGroup, filter: ExportUserFilter): boolean {
  const spans = group.map((g) => filter.spans?.[g.index]).filter((s): s is DaySpan => !!s);
  if (spans.length === 0) return false;
  const first = spans.reduce((a, s) => (s.first < a ? s.first : a), spans[0]!.first);
  const last = spans.reduce((a, s) => (s.last > a ? s.last : a), spans[0]!.last);
  const from = filter.from > first ? filter.from : first;
  const to = filter.to < last ? filter.to : last;
  return from <= to && dayCount(from, to) * 2 >= dayCount(first, last);
}

function indexedBy(index: string): Sql {
  return { sqlite: ` INDEXED BY ${index}`, postgres: '' };
}

/**
 * The first and last day of each source's series, over every provider (the day index has no
 * provider; null for a source of documents, or a series without samples), two index lookups
 * each: what inKeyOrder chooses by. Only SQLite needs them.
 */
export function* exportSpansOp(sources: readonly ExportSourceSpec[]): Op<(DaySpan | null)[] | undefined> {
  if ((yield* dialect()) !== 'sqlite') return undefined;
  const spans: (DaySpan | null)[] = [];
  for (const source of sources) {
    if (source.kind !== 'sample') {
      spans.push(null);
      continue;
    }
    const span = yield* get<{ first: string | null; last: string | null }>(
      'SELECT (SELECT min(day) FROM samples WHERE series_type = ?) AS first, (SELECT max(day) FROM samples WHERE series_type = ?) AS last',
      [source.seriesType, source.seriesType],
    );
    spans.push(span?.first && span.last ? { first: span.first, last: span.last } : null);
  }
  return spans;
}

/** A linked account: its participant's label and IANA zone (null when the participant has none). */
export interface ExportAccount {
  provider: string;
  user_id: string;
  label: string;
  tz: string | null;
}

/** Every linked account with its participant's label and zone: what the export writes in `label` and reads times in. */
export function* exportAccountsOp(): Op<ExportAccount[]> {
  return yield* all<ExportAccount>(
    'SELECT pa.provider, pa.user_id, pa.label, p.tz FROM participant_accounts pa JOIN participants p ON p.label = pa.label',
  );
}

/** The accounts of the participants `labels` names (`--participant`), and the labels no participant has. */
export function* participantAccountsOp(labels: readonly string[]): Op<{ unknown: string[]; accounts: { provider: string; user_id: string }[] }> {
  const list = JSON.stringify(labels);
  const known = yield* all<{ label: string }>(sql`SELECT label FROM participants WHERE ${inJsonList('label', '?')}`, [list]);
  const accounts = yield* all<{ provider: string; user_id: string }>(
    sql`SELECT provider, user_id FROM participant_accounts WHERE ${inJsonList('label', '?')} ORDER BY label, provider, user_id`,
    [list],
  );
  const found = new Set(known.map((k) => k.label));
  return { unknown: labels.filter((l) => !found.has(l)), accounts };
}
