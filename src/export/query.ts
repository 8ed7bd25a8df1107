import type { Store } from '../store/store.js';
import { SRC, exportAccountsOp, exportSourceQuery, exportSpansOp, type DaySpan, type ExportAccount, type ExportSourceRow } from '../store/export.js';
import { accountKey } from '../store/participants.js';
import { InstantFormatter } from '../time/instant.js';
import type { CommonFields, ExportTimes, ExportType, RowFields } from './tables.js';
import { sourcesFor } from './sources.js';
import { TABLES } from './registry/index.js';

export interface ExportFilter {
  from: string;
  to: string;
  /** Restrict to these (provider, user) pairs; undefined = everyone. */
  users?: { provider?: string; userId: string }[];
}

/** Rows fetched from the store per batch (one cursor read on PostgreSQL). */
const BATCH_ROWS = 1000;
/**
 * Export rows handed to the writer at a time: the parsed documents and their rows live until
 * the writer has them, and tens of thousands at once make the heap (and the peak RSS) grow by
 * tens of MiB (a sleep's HRV is a hundred rows).
 */
const YIELD_ROWS = 500;

/**
 * Rows of one table in contract order (user, then day, then time), streamed from the store
 * (src/store/export.ts: one sorted query over every source, a server-side cursor on
 * PostgreSQL), mapped lazily, so memory stays flat however many rows there are. Only current
 * versions of documents that are neither deleted nor superseded by a sync are exported.
 * Each batch holds the rows of whole documents.
 */
export async function* exportRowBatches(store: Store, type: ExportType, filter: ExportFilter): AsyncGenerator<RowFields[]> {
  const query = exportQuery(type, filter, await store.read(exportSpansOp, sourcesFor(type)));
  if (!query) return;
  const map = rowMapper(type, filter, await store.read(exportAccountsOp));
  let rows: RowFields[] = [];
  for await (const raws of store.stream<ExportSourceRow>(query.sql, query.params, BATCH_ROWS, { arrays: true })) {
    for (const raw of raws) {
      map(raw, rows);
      if (rows.length >= YIELD_ROWS) {
        yield rows;
        rows = [];
      }
    }
  }
  if (rows.length > 0) yield rows;
}

/** The one query of a table's rows (src/store/export.ts), read the way `spans` (exportSpansOp) says. */
export function exportQuery(type: ExportType, filter: ExportFilter, spans: readonly (DaySpan | null)[] | undefined) {
  return exportSourceQuery(sourcesFor(type), { ...filter, undated: TABLES[type].undated === true, spans });
}

/**
 * What turns one row of the export query into export rows (pushed onto `out`): the provider's
 * mapping of its document or sample, with who it belongs to (label, zone) and how it was obtained.
 */
function rowMapper(type: ExportType, filter: ExportFilter, accounts: readonly ExportAccount[]): (raw: ExportSourceRow, out: RowFields[]) => void {
  const sources = sourcesFor(type);
  const { from, to } = filter;
  const labels = new Map<string, string>();
  const zones = new Map<string, string | null>();
  for (const a of accounts) {
    const key = accountKey(a.provider, a.user_id);
    labels.set(key, a.label);
    zones.set(key, a.tz);
  }
  const times: ExportTimes = { local: new InstantFormatter(), utc: new InstantFormatter() };
  // The rows of one document or user repeat who they belong to: looked up once per change.
  let lastProvider: string | undefined;
  let lastUser: string | undefined;
  let label: string | null = null;
  let zone: string | null = null;
  return (raw, out) => {
    const provider = raw[SRC.provider];
    const userId = raw[SRC.user_id];
    if (provider !== lastProvider || userId !== lastUser) {
      lastProvider = provider;
      lastUser = userId;
      const who = accountKey(provider, userId);
      label = labels.get(who) ?? null;
      zone = zones.get(who) ?? null;
    }
    const source = sources[raw[SRC.src]]!;
    const common: CommonFields = {
      provider,
      user_id: userId,
      source: raw[SRC.source],
      retrieved_at: raw[SRC.retrieved_at],
      version: raw[SRC.version],
      label,
    };
    if (source.kind === 'sample') {
      // A query with samples has every column (ExportSourceRow).
      const row = source.toRow({
        common,
        day: raw[SRC.day],
        timestamp: raw[SRC.ts]!,
        value: raw[SRC.value] as number | null,
        sourceId: raw[SRC.id],
        context: raw[SRC.context] as string | null,
        sleepId: raw[SRC.sleep_id] as string | null,
        sleepData: raw[SRC.sleep_data] as string | null,
        zone,
        times,
      });
      const day = row.day as string;
      if (day >= from && day <= to) out.push(row);
    } else {
      const rows = source.toRows({ id: raw[SRC.id]!, day: raw[SRC.day], data: JSON.parse(raw[SRC.data]!), common, zone, times });
      for (const row of rows) out.push(row);
    }
  };
}
