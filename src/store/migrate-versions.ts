import { createHash } from 'node:crypto';
import type { DB } from './db.js';
import type { StoredDocument } from './documents.js';
import { vitalDay } from '../providers/vital/times.js';
import { ATTRIBUTE_SAMPLES_SQL } from './samples.js';

/**
 * Schema 5 (issue #10): every version of every document is kept with its provenance, sync
 * runs are recorded, samples say how they came. A file of an older schema is upgraded in
 * place: each stored document becomes its own first (and current) version, retrieved when it
 * was last stored, and the days that were cut from UTC strings are recomputed.
 */
const SCHEMA = `
  CREATE TABLE sync_runs (
    id          INTEGER PRIMARY KEY,
    provider    TEXT NOT NULL,
    kind        TEXT NOT NULL,             -- what started it: 'sync' (the command), 'catch-up' (listen --subscribe), ...
    user_id     TEXT NOT NULL,
    types       TEXT NOT NULL,             -- JSON array of data types
    range_from  TEXT,                      -- YYYY-MM-DD, inclusive
    range_to    TEXT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,             -- running | ok | failed
    error       TEXT
  );
  CREATE INDEX sync_runs_by_user ON sync_runs(provider, user_id, started_at);

  -- What one run did with one data type; a type is authoritative for its range only when complete.
  CREATE TABLE sync_run_types (
    run_id      INTEGER NOT NULL REFERENCES sync_runs(id),
    type        TEXT NOT NULL,
    listed      INTEGER NOT NULL DEFAULT 0,
    new         INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    older       INTEGER NOT NULL DEFAULT 0,
    superseded  INTEGER NOT NULL DEFAULT 0,
    complete    INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    PRIMARY KEY (run_id, type)
  );

  CREATE TABLE document_versions (
    seq            INTEGER PRIMARY KEY,    -- arrival order
    provider       TEXT NOT NULL,
    type           TEXT NOT NULL,
    id             TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    day            TEXT,
    start_time     TEXT,
    end_time       TEXT,
    data           TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    retrieved_at   TEXT NOT NULL,          -- when wearhook obtained this version (UTC)
    source         TEXT,                   -- webhook | sync (null: stored before versions were kept)
    delivery_id    INTEGER,                -- the delivery that brought it
    sync_run_id    INTEGER,                -- the sync run that brought it
    order_rank     INTEGER NOT NULL DEFAULT 0, -- the provider's order: rank, then order_at, then seq
    order_at       INTEGER NOT NULL,       -- ms: the fetch (Oura), the signed webhook timestamp (Standard Webhooks)
    arrived_older  INTEGER NOT NULL DEFAULT 0 -- 1: a newer version was already stored when it arrived
  );
  CREATE INDEX document_versions_by_document ON document_versions(provider, type, id, order_rank, order_at, seq);
  CREATE INDEX document_versions_by_delivery ON document_versions(delivery_id) WHERE delivery_id IS NOT NULL;
  CREATE INDEX document_versions_by_run ON document_versions(sync_run_id) WHERE sync_run_id IS NOT NULL;

  ALTER TABLE documents ADD COLUMN current_seq INTEGER;       -- the current version (document_versions.seq)
  ALTER TABLE documents ADD COLUMN version INTEGER NOT NULL DEFAULT 1; -- its position among the versions, 1 = oldest
  ALTER TABLE documents ADD COLUMN retrieved_at TEXT;
  ALTER TABLE documents ADD COLUMN superseded_by_run INTEGER; -- a sync run no longer found it: kept, not exported
  ALTER TABLE documents ADD COLUMN superseded_at TEXT;

  ALTER TABLE samples ADD COLUMN source TEXT;
  ALTER TABLE samples ADD COLUMN retrieved_at TEXT;
  ALTER TABLE samples ADD COLUMN sleep_id TEXT;               -- the sleep the sample was taken in
`;

export function contentHash(json: string): string {
  return createHash('sha256').update(json).digest('hex');
}

export function keepEveryDocumentVersion(db: DB): void {
  db.exec(SCHEMA);
  const rows = db.prepare('SELECT rowid, provider, type, id, user_id, day, start_time, end_time, data, updated_at, source FROM documents').all() as (Omit<
    StoredDocument,
    'deleted' | 'current_seq' | 'version' | 'retrieved_at' | 'superseded_by_run' | 'superseded_at'
  > & { rowid: number })[];
  const insert = db.prepare(
    `INSERT INTO document_versions (provider, type, id, user_id, day, start_time, end_time, data, content_sha256, retrieved_at, source, order_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const point = db.prepare('UPDATE documents SET current_seq = ?, version = 1, retrieved_at = ?, day = ? WHERE rowid = ?');
  for (const row of rows) {
    const day = row.provider === 'vital' ? (vitalDay(JSON.parse(row.data)) ?? row.day) : row.day;
    const at = Date.parse(row.updated_at);
    const seq = insert.run(row.provider, row.type, row.id, row.user_id, day, row.start_time, row.end_time, row.data, contentHash(row.data), row.updated_at, row.source, Number.isFinite(at) ? at : 0).lastInsertRowid;
    point.run(seq, row.updated_at, day, row.rowid);
  }
  // Samples stored so far came from webhooks (Open Wearables, Corsano, Vital) or a sync (Oura heart rate).
  db.exec(`UPDATE samples SET source = CASE WHEN provider = 'oura' THEN 'sync' ELSE 'webhook' END`);
  // HRV samples learn the id of the sleep they were taken in (export: hrv.sleep_id).
  db.exec(`${ATTRIBUTE_SAMPLES_SQL} WHERE s.series_type IN ('heart_rate_variability_rmssd', 'heart_rate_variability_sdnn')`);
}
