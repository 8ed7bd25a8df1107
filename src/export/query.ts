import type { DB } from '../store/db.js';
import { InstantFormatter } from '../time/instant.js';
import { zoneOf } from '../time/zone-of.js';
import type { CommonFields, ExportTimes, ExportType, RowFields } from './tables.js';
import { sourcesFor } from './sources.js';
import { TABLES } from './registry/index.js';
import { accountKey, accountLabels } from '../store/participants.js';

export interface ExportFilter {
  from: string;
  to: string;
  /** Restrict to these (provider, user) pairs; undefined = everyone. */
  users?: { provider?: string; userId: string }[];
}

interface SourceRow {
  src: number;
  provider: string;
  user_id: string;
  day: string;
  id: string | null;
  data: string | null;
  ts: string | null;
  value: number | null;
  source: string | null;
  retrieved_at: string | null;
  version: number | null;
  sleep_id: string | null;
  sleep_data: string | null;
  context: string | null;
}

/** Rows of one table in contract order, one at a time (see exportRowBatches). */
export function* exportRows(db: DB, type: ExportType, filter: ExportFilter): Generator<RowFields> {
  for (const batch of exportRowBatches(db, type, filter)) yield* batch;
}

/**
 * Rows of one table in contract order (user, then day, then time), streamed from SQLite:
 * one query over every source, sorted by SQLite (which spills to disk), mapped lazily, so
 * memory stays flat however many rows there are; the rows of one document come together.
 * Only current versions of documents that are
 * neither deleted nor superseded by a sync are exported.
 */
export function* exportRowBatches(db: DB, type: ExportType, filter: ExportFilter): Generator<RowFields[]> {
  const sources = sourcesFor(type);
  const undated = TABLES[type].undated === true;
  // A sample's day is computed again when the participant's zone moves it across midnight:
  // ask SQLite for a day more on each side and keep the rows whose day is in the range.
  const sampleFrom = addDays(filter.from, -1);
  const sampleTo = addDays(filter.to, 1);
  const labels = accountLabels(db);
  const zones = new Map<string, string | null>();
  const times: ExportTimes = { local: new InstantFormatter(), utc: new InstantFormatter() };
  const parts: string[] = [];
  const params: unknown[] = [];
  sources.forEach((source, index) => {
    const users = userFilterSql(filter, source.kind === 'document' ? 'd' : 's');
    if (source.kind === 'document') {
      parts.push(
        `SELECT ${index} AS src, d.provider AS provider, d.user_id AS user_id, d.day AS day, d.id AS id, d.data AS data, NULL AS ts, NULL AS value,
                d.source, d.retrieved_at, d.version, NULL AS sleep_id, NULL AS sleep_data, NULL AS context,
                COALESCE(unixepoch(d.start_time, 'subsec'), 0) AS sort_key
         FROM documents d
         WHERE d.provider = ? AND d.type = ? AND d.deleted = 0 AND d.superseded_by_run IS NULL${undated ? '' : ' AND d.day BETWEEN ? AND ?'}${users.sql}`,
      );
      params.push(source.provider, source.documentType, ...(undated ? [] : [filter.from, filter.to]), ...users.params);
    } else {
      parts.push(
        `SELECT ${index} AS src, s.provider AS provider, s.user_id AS user_id, s.day AS day, s.source_id AS id, NULL AS data, s.timestamp AS ts, s.value,
                s.source, s.retrieved_at, NULL AS version, s.sleep_id, sd.data AS sleep_data, s.context,
                s.epoch_ms / 1000.0 AS sort_key
         FROM samples s LEFT JOIN documents sd ON sd.provider = s.provider AND sd.type = 'sleep' AND sd.id = s.sleep_id
         WHERE s.provider = ? AND s.series_type = ? AND s.day BETWEEN ? AND ?${users.sql}`,
      );
      params.push(source.provider, source.seriesType, sampleFrom, sampleTo, ...users.params);
    }
  });
  if (parts.length === 0) return;
  const sql = `${parts.join('\nUNION ALL\n')}\nORDER BY user_id, day, sort_key, provider, id, src`;
  const { from, to } = filter;
  const stmt = db.prepare(sql);
  for (const raw of stmt.iterate(...params) as Iterable<SourceRow>) {
    const source = sources[raw.src]!;
    const who = accountKey(raw.provider, raw.user_id);
    let zone = zones.get(who);
    if (zone === undefined) zones.set(who, (zone = zoneOf(db, raw.provider, raw.user_id)));
    const common: CommonFields = {
      provider: raw.provider,
      user_id: raw.user_id,
      source: raw.source,
      retrieved_at: raw.retrieved_at,
      version: raw.version,
      label: labels.get(who) ?? null,
    };
    if (source.kind === 'sample') {
      const row = source.toRow({ common, day: raw.day, timestamp: raw.ts!, value: raw.value, sourceId: raw.id, context: raw.context, sleepId: raw.sleep_id, sleepData: raw.sleep_data, zone, times });
      const day = row.day as string;
      if (day >= from && day <= to) yield [row];
    } else {
      yield source.toRows({ id: raw.id!, day: raw.day, data: JSON.parse(raw.data!), common, zone, times });
    }
  }
}

function userFilterSql(filter: ExportFilter, alias: string): { sql: string; params: string[] } {
  const params: string[] = [];
  if (!filter.users) return { sql: '', params };
  if (filter.users.length === 0) return { sql: ' AND 0', params };
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

/** YYYY-MM-DD plus n calendar days. */
function addDays(day: string, n: number): string {
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) ? day : new Date(ms + n * 86_400_000).toISOString().slice(0, 10);
}
