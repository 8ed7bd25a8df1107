import type { DB } from '../store/db.js';
import { columnsOf, type ExportType, type RowSource, type Value } from './tables.js';
import { sourcesFor } from './sources.js';
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
}

/**
 * Rows of one table in contract order (user, then day, then time), streamed from SQLite:
 * one query over every source, sorted by SQLite (which spills to disk), mapped lazily, so
 * memory stays flat however many rows there are.
 */
export function* exportRows(db: DB, type: ExportType, filter: ExportFilter): Generator<Record<string, Value>> {
  const sources = sourcesFor(type);
  const columns = columnsOf(type);
  const labels = accountLabels(db);
  const parts: string[] = [];
  const params: unknown[] = [];
  sources.forEach((source, index) => {
    const users = userFilterSql(filter, source.kind === 'document' ? 'd' : 's');
    if (source.kind === 'document') {
      parts.push(
        `SELECT ${index} AS src, d.provider, d.user_id, d.day, d.id, d.data, NULL AS ts, NULL AS value,
                COALESCE(unixepoch(d.start_time, 'subsec'), 0) AS sort_key
         FROM documents d
         WHERE d.provider = ? AND d.type = ? AND d.deleted = 0 AND d.superseded_by_run IS NULL AND d.day BETWEEN ? AND ?${users.sql}`,
      );
      params.push(source.provider, source.documentType, filter.from, filter.to, ...users.params);
    } else {
      parts.push(
        `SELECT ${index} AS src, s.provider, s.user_id, s.day, s.source_id AS id, NULL AS data, s.timestamp AS ts, s.value,
                s.epoch_ms / 1000.0 AS sort_key
         FROM samples s
         WHERE s.provider = ? AND s.series_type = ? AND s.day BETWEEN ? AND ?${users.sql}`,
      );
      params.push(source.provider, source.seriesType, filter.from, filter.to, ...users.params);
    }
  });
  if (parts.length === 0) return;
  const sql = `${parts.join('\nUNION ALL\n')}\nORDER BY user_id, day, sort_key, provider, id`;
  const stmt = db.prepare(sql);
  for (const raw of stmt.iterate(...params) as Iterable<SourceRow>) {
    const source = sources[raw.src]!;
    const label = labels.get(accountKey(raw.provider, raw.user_id)) ?? null;
    for (const fields of rowsOf(source, raw)) {
      const row: Record<string, Value> = {};
      for (const column of columns) row[column] = null;
      Object.assign(row, fields);
      row.provider = raw.provider;
      row.user_id = raw.user_id;
      row.label = label;
      yield row;
    }
  }
}

function rowsOf(source: RowSource, raw: SourceRow): Record<string, Value>[] {
  if (source.kind === 'sample') {
    return [{ day: raw.day, timestamp: raw.ts, [source.valueColumn]: raw.value, source_id: raw.id }];
  }
  return source.toRows({ id: raw.id!, day: raw.day, data: JSON.parse(raw.data!) });
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
