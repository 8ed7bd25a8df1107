import type { DB } from './db.js';
import { runSqlite } from './sqlite-run.js';
import { get, inJsonList, run, sql, type Op } from './sql.js';

/**
 * Sync runs: one row per user and run of a polling sync (the `sync` command, the catch-up of
 * `listen --subscribe`, ...), with what it did per data type. A run that listed a type over a
 * range completely is authoritative for it: documents it no longer found are superseded
 * (kept, not exported) and recorded against the run.
 */

export interface SyncRunInput {
  provider: string;
  /** What started the run: 'sync' (the command), 'catch-up' (listen --subscribe), ... */
  kind: string;
  userId: string;
  types: readonly string[];
  from: string | null;
  to: string | null;
  /** Reconciliation: the user's last document day when the run started (reconcile.ts). */
  frontierDay?: string | null;
}

export interface SyncTypeCounts {
  listed: number;
  new: number;
  updated: number;
  unchanged: number;
  older: number;
  superseded: number;
}

export interface SyncRunRow {
  id: number;
  provider: string;
  kind: string;
  user_id: string;
  types: string;
  range_from: string | null;
  range_to: string | null;
  started_at: string;
  finished_at: string | null;
  status: 'running' | 'ok' | 'failed';
  error: string | null;
  frontier_day: string | null;
}

export function startSyncRun(db: DB, run: SyncRunInput, now = new Date()): { id: number; startedAt: string } {
  return runSqlite(db, startSyncRunOp(run, now));
}

export function* startSyncRunOp(run: SyncRunInput, now = new Date()): Op<{ id: number; startedAt: string }> {
  const startedAt = now.toISOString();
  const row = yield* get<{ id: number }>(
    `INSERT INTO sync_runs (provider, kind, user_id, types, range_from, range_to, started_at, status, frontier_day)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?) RETURNING id`,
    [run.provider, run.kind, run.userId, JSON.stringify(run.types), run.from, run.to, startedAt, run.frontierDay ?? null],
  );
  return { id: Number(row!.id), startedAt };
}

export function recordSyncRunType(db: DB, runId: number, type: string, counts: SyncTypeCounts, outcome: { complete: boolean; error: string | null }): void {
  runSqlite(db, recordSyncRunTypeOp(runId, type, counts, outcome));
}

export function* recordSyncRunTypeOp(runId: number, type: string, counts: SyncTypeCounts, outcome: { complete: boolean; error: string | null }): Op<void> {
  yield* run(
    `INSERT INTO sync_run_types (run_id, type, listed, new, updated, unchanged, older, superseded, complete, error)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (run_id, type) DO UPDATE SET listed = excluded.listed, new = excluded.new, updated = excluded.updated,
       unchanged = excluded.unchanged, older = excluded.older, superseded = excluded.superseded, complete = excluded.complete, error = excluded.error`,
    [runId, type, counts.listed, counts.new, counts.updated, counts.unchanged, counts.older, counts.superseded, outcome.complete ? 1 : 0, outcome.error],
  );
}

export function finishSyncRun(db: DB, runId: number, error: string | null, now = new Date()): void {
  runSqlite(db, finishSyncRunOp(runId, error, now));
}

export function* finishSyncRunOp(runId: number, error: string | null, now = new Date()): Op<void> {
  yield* run(`UPDATE sync_runs SET finished_at = ?, status = ?, error = ? WHERE id = ?`, [now.toISOString(), error ? 'failed' : 'ok', error, runId]);
}

export function getSyncRun(db: DB, id: number): SyncRunRow | undefined {
  return db.prepare('SELECT * FROM sync_runs WHERE id = ?').get(id) as SyncRunRow | undefined;
}

export interface Supersede {
  runId: number;
  /** When the run started: a document stored since then may be newer than the listing and is left alone. */
  runStartedAt: string;
  provider: string;
  type: string;
  userId: string;
  /** The run's day range (inclusive); null for a collection listed whole (no date filter). */
  from: string | null;
  to: string | null;
  /** Every document id the provider listed for that range. */
  listedIds: readonly string[];
}

/**
 * Documents of a user, type and range that a complete listing no longer holds: the provider
 * removed or re-issued them (an Oura sleep re-analysed under a new id). They stay in the store,
 * marked superseded by the run, and leave every export. Returns how many were marked.
 */
export function supersedeUnlisted(db: DB, s: Supersede, now = new Date()): number {
  return runSqlite(db, supersedeUnlistedOp(s, now));
}

export function* supersedeUnlistedOp(s: Supersede, now = new Date()): Op<number> {
  const range = s.from !== null && s.to !== null ? 'AND day BETWEEN ? AND ?' : '';
  const params: unknown[] = [s.runId, now.toISOString(), s.provider, s.type, s.userId];
  if (range) params.push(s.from, s.to);
  params.push(s.runStartedAt, JSON.stringify(s.listedIds));
  const statement = sql`UPDATE documents SET superseded_by_run = ?, superseded_at = ?
       WHERE provider = ? AND type = ? AND user_id = ? AND deleted = 0 AND superseded_by_run IS NULL ${range}
         AND (retrieved_at IS NULL OR retrieved_at < ?)
         AND NOT ${inJsonList('id', '?')}`;
  return (yield* run(statement, params)).changes;
}
