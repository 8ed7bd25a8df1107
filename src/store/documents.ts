import type { DB } from './db.js';
import { cachedStatement } from './statements.js';

/** One provider document (an Oura sleep, a Vital activity day, ...). One row per (provider, type, id). */
export interface DocumentInput {
  provider: string;
  type: string;
  id: string;
  userId: string;
  /** The provider's local day, YYYY-MM-DD, when the document has one. */
  day: string | null;
  /** Start of the period the document covers, ISO 8601 with the provider's offset; orders rows within a day. */
  startTime?: string | null;
  /** End of that period, when it has one (a sleep's wake time). */
  endTime?: string | null;
  data: unknown;
  /** How the document arrived: 'webhook', 'sync', 'trigger', ... */
  source?: string;
}

export type UpsertOutcome = 'new' | 'updated' | 'unchanged';

/**
 * Insert or replace a document. A newer version replaces the older one; storing the
 * same content again changes nothing, so `sync` twice is a no-op.
 */
export function upsertDocument(db: DB, doc: DocumentInput, now = new Date()): UpsertOutcome {
  const json = JSON.stringify(doc.data);
  const existing = cachedStatement(db, 'SELECT data, deleted FROM documents WHERE provider = ? AND type = ? AND id = ?').get(doc.provider, doc.type, doc.id) as
    | { data: string; deleted: number }
    | undefined;
  if (existing && existing.data === json && existing.deleted === 0) return 'unchanged';
  cachedStatement(
    db,
    `INSERT INTO documents (provider, type, id, user_id, day, start_time, end_time, data, updated_at, deleted, source)
     VALUES (@provider, @type, @id, @userId, @day, @startTime, @endTime, @data, @updatedAt, 0, @source)
     ON CONFLICT (provider, type, id) DO UPDATE SET
       user_id = excluded.user_id, day = excluded.day, start_time = excluded.start_time, end_time = excluded.end_time,
       data = excluded.data, updated_at = excluded.updated_at, deleted = 0, source = excluded.source`,
  ).run({
    provider: doc.provider,
    type: doc.type,
    id: doc.id,
    userId: doc.userId,
    day: doc.day,
    startTime: doc.startTime ?? null,
    endTime: doc.endTime ?? null,
    data: json,
    updatedAt: now.toISOString(),
    source: doc.source ?? null,
  });
  return existing ? 'updated' : 'new';
}

/** A `delete` event: keep the row for the record, hide it from exports. Returns whether a row was marked. */
export function markDocumentDeleted(db: DB, provider: string, type: string, id: string, now = new Date()): boolean {
  const result = db
    .prepare('UPDATE documents SET deleted = 1, updated_at = ? WHERE provider = ? AND type = ? AND id = ?')
    .run(now.toISOString(), provider, type, id);
  return result.changes > 0;
}

export interface StoredDocument {
  provider: string;
  type: string;
  id: string;
  user_id: string;
  day: string | null;
  start_time: string | null;
  end_time: string | null;
  data: string;
  updated_at: string;
  deleted: number;
  source: string | null;
}

export function getDocument(db: DB, provider: string, type: string, id: string): StoredDocument | undefined {
  return db
    .prepare('SELECT * FROM documents WHERE provider = ? AND type = ? AND id = ?')
    .get(provider, type, id) as StoredDocument | undefined;
}

/** The latest day per user for which a provider has documents; `sync` catch-up starts there. */
export function latestDayByUser(db: DB, provider: string): Map<string, string> {
  const rows = db
    .prepare('SELECT user_id, MAX(day) AS day FROM documents WHERE provider = ? AND day IS NOT NULL GROUP BY user_id')
    .all(provider) as { user_id: string; day: string }[];
  return new Map(rows.map((r) => [r.user_id, r.day]));
}
