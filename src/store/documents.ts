import type { DB } from './db.js';
import { contentHash } from './migrate-versions.js';
import { get, lock, run, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * Provider documents (an Oura sleep, a Vital activity day, ...). Every version is kept in
 * `document_versions`; `documents` holds one row per (provider, type, id) with the current
 * version's data, which export reads. The current version is the newest in the provider's
 * order, not the last to arrive (CONTRACT, second edition).
 */
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
  /** How the document arrived: 'webhook' or 'sync' (the provenance given to storeDocument wins). */
  source?: string;
  /** Its place in the provider's order; default: the time it was retrieved (Oura: the latest fetch is the newest). */
  order?: ProviderOrder;
}

/**
 * The provider's order of a document's versions: by `rank`, then `atMs`, then arrival.
 * Standard Webhooks senders: rank 1 for an `...updated` event, 0 for `...created` (a created
 * version is never newer than an update of the same document, however late its retry was
 * signed), then the signed `webhook-timestamp`. Oura: rank 0, the time of the fetch.
 */
export interface ProviderOrder {
  rank: number;
  atMs: number;
}

/** How wearhook obtained a version. */
export interface Provenance {
  source: 'webhook' | 'sync';
  /** When wearhook obtained it: the delivery's arrival, or the fetch. */
  retrievedAt: Date;
  deliveryId?: number | null;
  syncRunId?: number | null;
}

/**
 * - `new`: the first version of the document;
 * - `updated`: a newer version, now the current one;
 * - `unchanged`: the same content as the current version (also from a fetch older than it);
 * - `older`: older than the stored version in the provider's order: kept as history, not exported.
 */
export type StoreOutcome = 'new' | 'updated' | 'unchanged' | 'older';
/** @deprecated the name before versions were kept */
export type UpsertOutcome = StoreOutcome;

interface Current {
  current_seq: number | null;
  deleted: number;
  superseded_by_run: number | null;
  order_rank: number | null;
  order_at: number | null;
  content_sha256: string | null;
}

/** Store one version of a document and make it current when it is the newest. Run it inside a transaction. */
export function storeDocument(db: DB, doc: DocumentInput, provenance: Provenance): StoreOutcome {
  return runSqlite(db, storeDocumentOp(doc, provenance));
}

/**
 * storeDocument as a store operation. It reads the current version, then decides what to
 * write: on PostgreSQL it holds the document's lock first, so that two receivers storing
 * versions of one document at once decide one after the other.
 */
export function* storeDocumentOp(doc: DocumentInput, provenance: Provenance): Op<StoreOutcome> {
  const json = JSON.stringify(doc.data);
  const hash = contentHash(json);
  const order = doc.order ?? { rank: 0, atMs: provenance.retrievedAt.getTime() };
  const key = [doc.provider, doc.type, doc.id] as const;
  yield* lock(`document:${JSON.stringify(key)}`);
  const current = yield* get<Current>(
    `SELECT d.current_seq, d.deleted, d.superseded_by_run, v.order_rank, v.order_at, v.content_sha256
     FROM documents d LEFT JOIN document_versions v ON v.seq = d.current_seq
     WHERE d.provider = ? AND d.type = ? AND d.id = ?`,
    key,
  );
  const retrievedAt = provenance.retrievedAt.toISOString();
  function* insertVersion(arrivedOlder: boolean): Op<number> {
    const row = yield* get<{ seq: number }>(
      `INSERT INTO document_versions (provider, type, id, user_id, day, start_time, end_time, data, content_sha256, retrieved_at,
                                      source, delivery_id, sync_run_id, order_rank, order_at, arrived_older)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING seq`,
      [
        ...key, doc.userId, doc.day, doc.startTime ?? null, doc.endTime ?? null, json, hash, retrievedAt,
        provenance.source, provenance.deliveryId ?? null, provenance.syncRunId ?? null, order.rank, order.atMs, arrivedOlder ? 1 : 0,
      ],
    );
    return Number(row!.seq);
  }

  if (!current) {
    const seq = yield* insertVersion(false);
    yield* run(
      `INSERT INTO documents (provider, type, id, user_id, day, start_time, end_time, data, updated_at, deleted, source, current_seq, version, retrieved_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 1, ?)`,
      [...key, doc.userId, doc.day, doc.startTime ?? null, doc.endTime ?? null, json, new Date().toISOString(), provenance.source, seq, retrievedAt],
    );
    return 'new';
  }

  const newer =
    current.order_rank === null || order.rank > current.order_rank || (order.rank === current.order_rank && order.atMs >= (current.order_at ?? 0));
  if (!newer) {
    // A late fetch of what is current already (two syncs of one page, the later one committing
    // first): nothing new to keep, and the provider still says what is stored.
    if (hash === current.content_sha256 && current.superseded_by_run === null && current.deleted === 0) return 'unchanged';
    const known = yield* get(
      `SELECT 1 FROM document_versions WHERE provider = ? AND type = ? AND id = ? AND content_sha256 = ? AND order_rank = ? AND order_at = ?`,
      [...key, hash, order.rank, order.atMs],
    );
    if (!known) {
      yield* insertVersion(true);
      yield* run('UPDATE documents SET version = version + 1 WHERE provider = ? AND type = ? AND id = ?', key);
    }
    return 'older';
  }

  if (hash === current.content_sha256) {
    // The provider confirms the current content: it is newest as of this order (a later fetch).
    yield* run('UPDATE document_versions SET order_rank = ?, order_at = ? WHERE seq = ? AND (order_rank <> ? OR order_at <> ?)', [
      order.rank, order.atMs, current.current_seq, order.rank, order.atMs,
    ]);
    if (current.superseded_by_run === null && current.deleted === 0) return 'unchanged';
    // Listed or sent again after a sync no longer found it, or after a delete: it is back.
    yield* run('UPDATE documents SET superseded_by_run = NULL, superseded_at = NULL, deleted = 0, updated_at = ? WHERE provider = ? AND type = ? AND id = ?', [
      new Date().toISOString(), ...key,
    ]);
    return current.deleted ? 'updated' : 'unchanged';
  }

  const seq = yield* insertVersion(false);
  yield* run(
    `UPDATE documents SET user_id = ?, day = ?, start_time = ?, end_time = ?, data = ?, updated_at = ?, deleted = 0, source = ?,
       current_seq = ?, retrieved_at = ?, superseded_by_run = NULL, superseded_at = NULL,
       version = (SELECT COUNT(*) FROM document_versions v WHERE v.provider = documents.provider AND v.type = documents.type AND v.id = documents.id)
     WHERE provider = ? AND type = ? AND id = ?`,
    [doc.userId, doc.day, doc.startTime ?? null, doc.endTime ?? null, json, new Date().toISOString(), provenance.source, seq, retrievedAt, ...key],
  );
  return 'updated';
}

/**
 * Store a document outside a delivery or a sync run (tests, seeding): a version retrieved
 * `now`, from the source the input names (webhook by default).
 */
export function upsertDocument(db: DB, doc: DocumentInput, now = new Date()): StoreOutcome {
  const source = doc.source === 'sync' ? 'sync' : 'webhook';
  const store = () => storeDocument(db, doc, { source, retrievedAt: now });
  return db.inTransaction ? store() : db.transaction(store).immediate();
}

/** A `delete` event: keep the row for the record, hide it from exports. Returns whether a row was marked. */
export function markDocumentDeleted(db: DB, provider: string, type: string, id: string, now = new Date()): boolean {
  return runSqlite(db, markDocumentDeletedOp(provider, type, id, now));
}

export function* markDocumentDeletedOp(provider: string, type: string, id: string, now = new Date()): Op<boolean> {
  const result = yield* run('UPDATE documents SET deleted = 1, updated_at = ? WHERE provider = ? AND type = ? AND id = ?', [now.toISOString(), provider, type, id]);
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
  current_seq: number | null;
  version: number;
  retrieved_at: string | null;
  superseded_by_run: number | null;
  superseded_at: string | null;
}

export function* getDocumentOp(provider: string, type: string, id: string): Op<StoredDocument | undefined> {
  return yield* get<StoredDocument>('SELECT * FROM documents WHERE provider = ? AND type = ? AND id = ?', [provider, type, id]);
}

export function getDocument(db: DB, provider: string, type: string, id: string): StoredDocument | undefined {
  return runSqlite(db, getDocumentOp(provider, type, id));
}

/** The latest day per user for which a provider has documents; `sync` catch-up starts there. */
export function latestDayByUser(db: DB, provider: string): Map<string, string> {
  const rows = db
    .prepare('SELECT user_id, MAX(day) AS day FROM documents WHERE provider = ? AND day IS NOT NULL GROUP BY user_id')
    .all(provider) as { user_id: string; day: string }[];
  return new Map(rows.map((r) => [r.user_id, r.day]));
}
