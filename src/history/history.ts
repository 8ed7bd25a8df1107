import type { DB } from '../store/db.js';
import { getDocumentOp } from '../store/documents.js';
import { documentVersionsOp, type VersionRow } from '../store/document-versions.js';
import type { Op } from '../store/sql.js';
import { runSqlite } from '../store/sqlite-run.js';
import type { Output } from '../cli/output.js';

/** `wearhook history`: a document's versions in the provider's order, and what changed between them. */

export interface FieldChange {
  /** The field's path in the document (`contributors.hrv_balance`, `hrv.items`). */
  field: string;
  from: unknown;
  to: unknown;
}

export interface HistoryVersion {
  version: number;
  current: boolean;
  retrieved_at: string;
  source: string | null;
  delivery_id: number | null;
  sync_run_id: number | null;
  sync_run_kind: string | null;
  /** A newer version was already stored when this one arrived. */
  arrived_older: boolean;
  content_sha256: string;
  day: string | null;
  /** What differs from the version before it (empty for the first). */
  changes: FieldChange[];
}

export interface DocumentHistory {
  provider: string;
  type: string;
  id: string;
  user_id: string;
  day: string | null;
  /** `current`: exported; `deleted`: a delete event hid it; `superseded`: a sync no longer found it. */
  state: 'current' | 'deleted' | 'superseded';
  superseded_by_run: number | null;
  superseded_at: string | null;
  versions: HistoryVersion[];
}

/** The history of one document, or undefined when it is not stored. */
export function* documentHistoryOp(provider: string, type: string, id: string): Op<DocumentHistory | undefined> {
  const doc = yield* getDocumentOp(provider, type, id);
  if (!doc) return undefined;
  const rows = yield* documentVersionsOp(provider, type, id);
  const versions = rows.map((row, i): HistoryVersion => ({
    version: row.position,
    current: row.seq === doc.current_seq,
    retrieved_at: row.retrieved_at,
    source: row.source,
    delivery_id: row.delivery_id,
    sync_run_id: row.sync_run_id,
    sync_run_kind: row.sync_run_kind,
    arrived_older: row.arrived_older === 1,
    content_sha256: row.content_sha256,
    day: row.day,
    changes: i === 0 ? [] : changedFields(parse(rows[i - 1]!), parse(row)),
  }));
  return {
    provider,
    type,
    id,
    user_id: doc.user_id,
    day: doc.day,
    state: doc.superseded_by_run !== null ? 'superseded' : doc.deleted ? 'deleted' : 'current',
    superseded_by_run: doc.superseded_by_run,
    superseded_at: doc.superseded_at,
    versions,
  };
}

/** The same on a SQLite connection. */
export function documentHistory(db: DB, provider: string, type: string, id: string): DocumentHistory | undefined {
  return runSqlite(db, documentHistoryOp(provider, type, id));
}

function parse(row: VersionRow): unknown {
  return JSON.parse(row.data);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The fields whose values differ, by path; objects are compared field by field, anything else (arrays too) as a whole. */
export function changedFields(before: unknown, after: unknown, prefix = ''): FieldChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => changedFields(before[key], after[key], prefix ? `${prefix}.${key}` : key));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ field: prefix || '(document)', from: before ?? null, to: after ?? null }];
}

function short(value: unknown): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function provenance(v: HistoryVersion): string {
  if (v.delivery_id !== null) return `by webhook (delivery #${v.delivery_id})`;
  if (v.sync_run_id !== null) return `by sync (run #${v.sync_run_id}${v.sync_run_kind && v.sync_run_kind !== 'sync' ? `, ${v.sync_run_kind}` : ''})`;
  return v.source ? `by ${v.source}` : 'before versions were kept';
}

export function printHistory(output: Output, h: DocumentHistory): void {
  const c = output.color;
  const current = h.versions.find((v) => v.current)?.version;
  output.result(
    c.bold(`${h.provider} ${h.type} ${h.id}`) +
      ` (user ${h.user_id}${h.day ? `, day ${h.day}` : ''}): ${h.versions.length} version${h.versions.length === 1 ? '' : 's'}` +
      (current !== undefined ? `, current: version ${current}` : ''),
  );
  if (h.state === 'superseded') {
    output.result(c.yellow(`superseded by sync run #${h.superseded_by_run} at ${h.superseded_at}: the provider no longer lists it; kept, not exported`));
  } else if (h.state === 'deleted') {
    output.result(c.yellow('deleted by the provider: kept, not exported'));
  }
  for (const v of h.versions) {
    const marks = [v.current ? c.green('current') : '', v.arrived_older ? c.yellow('arrived after a newer version (kept as history)') : ''].filter(Boolean);
    output.result(`version ${v.version}  retrieved ${v.retrieved_at}  ${provenance(v)}${marks.length ? `  ${marks.join('  ')}` : ''}`);
    for (const change of v.changes) output.result(`  ${change.field}: ${short(change.from)} -> ${short(change.to)}`);
  }
}
