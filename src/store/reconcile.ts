import type { DB } from './db.js';
import { runSqlite } from './sqlite-run.js';
import { get, inJsonList, run, sql, type Op } from './sql.js';

/**
 * Reconciliation passes of `listen` (issue #17): when each ran, why, who ran it and what it
 * found; and what the next pass must look back to. Each user's part of a pass is an ordinary
 * sync run (sync-runs.ts) of kind `reconcile` or `catch-up`, whose document versions carry the
 * run: that is how a document found only by reconciliation is told from one a webhook brought.
 */

/** Sync run kinds that are reconciliation: periodic passes, and those after a stop or an outage. */
export const RECONCILE_KINDS = ['reconcile', 'catch-up'] as const;
export type ReconcileKind = (typeof RECONCILE_KINDS)[number];

export type PassReason = 'start' | 'interval' | 'outage';

export interface PassTotals {
  users: number;
  failed: number;
  listed: number;
  new: number;
  updated: number;
}

export interface PassRow extends PassTotals {
  id: number;
  provider: string;
  reason: PassReason;
  owner: string;
  types: string;
  started_at: string;
  finished_at: string | null;
  status: 'running' | 'done' | 'stopped';
}

export function startPass(db: DB, pass: PassInput, now = new Date()): { id: number; startedAt: string } {
  return runSqlite(db, startPassOp(pass, now));
}

export interface PassInput {
  provider: string;
  reason: PassReason;
  owner: string;
  types: readonly string[];
}

export function* startPassOp(pass: PassInput, now = new Date()): Op<{ id: number; startedAt: string }> {
  const startedAt = now.toISOString();
  const row = yield* get<{ id: number }>(
    `INSERT INTO reconcile_passes (provider, reason, owner, types, started_at, status) VALUES (?, ?, ?, ?, ?, 'running') RETURNING id`,
    [pass.provider, pass.reason, pass.owner, JSON.stringify(pass.types), startedAt],
  );
  return { id: Number(row!.id), startedAt };
}

export function finishPass(db: DB, id: number, status: 'done' | 'stopped', totals: PassTotals, now = new Date()): void {
  runSqlite(db, finishPassOp(id, status, totals, now));
}

export function* finishPassOp(id: number, status: 'done' | 'stopped', totals: PassTotals, now = new Date()): Op<void> {
  yield* run(
    `UPDATE reconcile_passes SET finished_at = ?, status = ?, users = ?, failed = ?, listed = ?, new = ?, updated = ? WHERE id = ?`,
    [now.toISOString(), status, totals.users, totals.failed, totals.listed, totals.new, totals.updated, id],
  );
}

/** The latest pass (any process) that ran to its end and started at or after `since` (ISO 8601 UTC). */
export function* donePassSinceOp(provider: string, since: string): Op<PassRow | undefined> {
  return yield* get<PassRow>(`SELECT * FROM reconcile_passes WHERE provider = ? AND started_at >= ? AND status = 'done' ORDER BY started_at DESC LIMIT 1`, [
    provider,
    since,
  ]);
}

/** The latest pass that ran to its end, if any. */
export function* lastDonePassOp(provider: string): Op<PassRow | undefined> {
  return yield* donePassSinceOp(provider, '');
}

/** The latest local day of any stored document of this user among `types` (deleted or superseded ones count: data was there). */
export function lastDocumentDay(db: DB, provider: string, userId: string, types: readonly string[]): string | null {
  return runSqlite(db, lastDocumentDayOp(provider, userId, types));
}

export function* lastDocumentDayOp(provider: string, userId: string, types: readonly string[]): Op<string | null> {
  // One indexed lookup per type (documents_by_user_day is (type, user_id, day)).
  let last: string | null = null;
  for (const type of types) {
    const day = (yield* get<{ day: string | null }>('SELECT MAX(day) AS day FROM documents WHERE type = ? AND user_id = ? AND provider = ?', [type, userId, provider]))?.day ?? null;
    if (day !== null && (last === null || day > last)) last = day;
  }
  return last;
}

/**
 * What the user's last complete reconciliation recorded as their last document day when it
 * started: days after it were unknown then, so the next pass looks back at least that far.
 * `undefined` when no reconciliation of the user ever completed.
 */
export function previousFrontier(db: DB, provider: string, userId: string): { day: string | null } | undefined {
  return runSqlite(db, previousFrontierOp(provider, userId));
}

export function* previousFrontierOp(provider: string, userId: string): Op<{ day: string | null } | undefined> {
  return yield* get<{ day: string | null }>(
    sql`SELECT frontier_day AS day FROM sync_runs
       WHERE provider = ? AND user_id = ? AND status = 'ok' AND ${inJsonList('kind', '?')}
       ORDER BY started_at DESC, id DESC LIMIT 1`,
    [provider, userId, JSON.stringify(RECONCILE_KINDS)],
  );
}
