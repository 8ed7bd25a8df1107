import type { DB } from './db.js';
import { claimDueOp, finishClaimOp, type WorkTable } from './claims.js';
import { deliveryHorizonOp } from './deliveries.js';
import { all, get, inJsonList, run, sql, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * The outbox: what is to be done for each delivery after it is stored, per target of a
 * `listen` run: a forward to a URL (`--forward-to`) or a hook command (`--exec`). Each
 * (delivery, target) is a row with its status, attempts, last answer and next attempt, and
 * every attempt is kept (`events show`). A target is known by its URL or command line; its
 * cursor is the highest delivery id already looked at, so a restart (or another receiver on
 * the same database) picks up exactly the deliveries not yet considered. Rows are claimed
 * like the delivery log's work (claims.ts): one process at a time per row.
 *
 * Every function is a store operation (sql.ts), for SQLite and PostgreSQL alike; the SQLite
 * callers that hold a connection use the plain functions, which run the same operations.
 */

export type OutboxKind = 'forward' | 'hook';
export const OUTBOX_STATUSES = ['pending', 'done', 'failed'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export const OUTBOX_WORK: WorkTable = { table: 'outbox', key: 'id' };

export interface OutboxTarget {
  id: number;
  kind: OutboxKind;
  target: string;
  filter: string | null;
  cursor: number;
}

export interface OutboxRow {
  id: number;
  target_id: number;
  delivery_id: number;
  status: OutboxStatus;
  attempts: number;
  last_code: number | null;
  last_error: string | null;
  /** Epoch ms. */
  next_attempt_at: number;
  /** Epoch ms; null until the first attempt (a hook's window starts when its delivery's work is done). */
  give_up_at: number | null;
  created_at: string;
  done_at: string | null;
}

/** The target of this kind and address, made on first use with its cursor at the newest delivery (history is not sent). */
export function* registerTargetOp(kind: OutboxKind, target: string, filter: string | null, now = new Date()): Op<OutboxTarget> {
  yield* run(
    `INSERT INTO outbox_targets (kind, target, filter, cursor, created_at)
     VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM deliveries), ?)
     ON CONFLICT (kind, target) DO UPDATE SET filter = excluded.filter`,
    [kind, target, filter, now.toISOString()],
  );
  return (yield* get<OutboxTarget>('SELECT id, kind, target, filter, cursor FROM outbox_targets WHERE kind = ? AND target = ?', [kind, target]))!;
}

/** deliveryHorizonOp for the cursors of `targetIds`: without the lock when no delivery has committed past any of them. */
export function* outboxHorizonOp(targetIds: readonly number[]): Op<number> {
  const row = yield* get<{ cursor: number | null }>(sql`SELECT MIN(cursor) AS cursor FROM outbox_targets WHERE ${inJsonList('id', '?', 'bigint')}`, [JSON.stringify(targetIds)]);
  return yield* deliveryHorizonOp(row?.cursor ?? -1);
}

/** What enqueueing looks at of a delivery. */
export interface DeliveryHead {
  id: number;
  provider: string;
  event_type: string | null;
  received_at: string;
}

export interface EnqueueOptions {
  now: number;
  retryForMs: number;
  limit: number;
  upTo?: number;
}

/**
 * Look at up to `limit` deliveries after the target's cursor (and not after `upTo`,
 * deliveryHorizonOp's bound, when given): those `wanted` get a pending row (due at once; a
 * forward's retry window counts from now, a hook's from its first attempt), and the cursor moves past all of them.
 * Returns how many were looked at. Two processes enqueueing for one target at once make each
 * row once (the unique key) and the cursor only moves forward.
 */
export function* enqueueOp(target: Pick<OutboxTarget, 'id' | 'kind'>, wanted: (d: DeliveryHead) => boolean, options: EnqueueOptions): Op<number> {
  const rows = yield* all<DeliveryHead>(
    `SELECT id, provider, event_type, received_at FROM deliveries
     WHERE id > (SELECT cursor FROM outbox_targets WHERE id = ?) AND id <= ? ORDER BY id LIMIT ?`,
    [target.id, options.upTo ?? Number.MAX_SAFE_INTEGER, options.limit],
  );
  const created = new Date(options.now).toISOString();
  const giveUpAt = target.kind === 'forward' ? options.now + options.retryForMs : null;
  for (const d of rows) {
    if (!wanted(d)) continue;
    yield* run(
      `INSERT INTO outbox (target_id, delivery_id, status, attempts, next_attempt_at, give_up_at, created_at)
       VALUES (?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (target_id, delivery_id) DO NOTHING`,
      [target.id, d.id, options.now, giveUpAt, created],
    );
  }
  if (rows.length > 0) {
    yield* run(
      { sqlite: 'UPDATE outbox_targets SET cursor = MAX(cursor, ?) WHERE id = ?', postgres: 'UPDATE outbox_targets SET cursor = GREATEST(cursor, ?) WHERE id = ?' },
      [rows[rows.length - 1]!.id, target.id],
    );
  }
  return rows.length;
}

/** The oldest pending forward of a target, when it is due and nobody holds it: forwards go in order, one at a time. */
export function* claimForwardHeadOp(owner: string, targetId: number, options: { now: number; leaseMs: number }): Op<OutboxRow | undefined> {
  return (
    yield* claimDueOp<OutboxRow & Record<string, unknown>>(OUTBOX_WORK, {
      owner,
      due: `target_id = @target AND status = 'pending' AND next_attempt_at <= @now
          AND delivery_id = (SELECT MIN(o.delivery_id) FROM outbox o WHERE o.target_id = @target AND o.status = 'pending')`,
      order: 'delivery_id',
      limit: 1,
      params: { target: targetId },
      leaseMs: options.leaseMs,
      now: options.now,
    })
  )[0];
}

/** Due hook runs of a target whose delivery's work is done (processed or failed), oldest first. */
export function* claimDueHooksOp(owner: string, targetId: number, options: { now: number; leaseMs: number; limit: number }): Op<OutboxRow[]> {
  return yield* claimDueOp<OutboxRow & Record<string, unknown>>(OUTBOX_WORK, {
    owner,
    due: `target_id = @target AND status = 'pending' AND next_attempt_at <= @now
          AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = outbox.delivery_id AND d.status IN ('processed', 'failed'))`,
    order: 'delivery_id',
    limit: options.limit,
    params: { target: targetId },
    leaseMs: options.leaseMs,
    now: options.now,
  });
}

/** One pending row, when nobody holds it (`events forward-retry`). */
export function* claimOutboxRowOp(owner: string, id: number, options: { now: number; leaseMs: number }): Op<OutboxRow | undefined> {
  return (
    yield* claimDueOp<OutboxRow & Record<string, unknown>>(OUTBOX_WORK, {
      owner,
      due: `id = @row AND status = 'pending'`,
      order: 'id',
      limit: 1,
      params: { row: id },
      leaseMs: options.leaseMs,
      now: options.now,
    })
  )[0];
}

/**
 * When the next row of a target may be claimed (epoch ms), if any: for forwards the oldest
 * pending one (the others wait behind it), for hooks those whose delivery's work is done.
 */
export function* nextOutboxDueOp(target: Pick<OutboxTarget, 'id' | 'kind'>): Op<number | undefined> {
  const sql =
    target.kind === 'forward'
      ? `SELECT next_attempt_at AS at FROM outbox WHERE target_id = ? AND status = 'pending' ORDER BY delivery_id LIMIT 1`
      : `SELECT MIN(next_attempt_at) AS at FROM outbox o WHERE o.target_id = ? AND o.status = 'pending'
           AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id AND d.status IN ('processed', 'failed'))`;
  const row = yield* get<{ at: number | null }>(sql, [target.id]);
  return row?.at ?? undefined;
}

export interface AttemptOutcome {
  startedAt: Date;
  durationMs: number;
  /** The HTTP status, or a hook's exit code. */
  code: number | null;
  /** Why it did not succeed (connection refused, timed out, killed by a signal, ...). */
  error: string | null;
  /** What the row says about it when that differs from the attempt's error (gave up after N attempts: ...). */
  summary?: string;
  /** A hook's output (the end of its stderr). */
  output?: string | null;
  /** What follows: done, another attempt at `nextAttemptAt`, or failed for good. */
  status: OutboxStatus;
  nextAttemptAt?: number;
  /** Set with the first attempt when the row had none (a hook's retry window). */
  giveUpAt?: number | null;
}

/** Record an attempt and its consequence, only while `owner` still holds the row (else ClaimLostError, nothing recorded). */
export function* recordAttemptOp(owner: string, row: Pick<OutboxRow, 'id' | 'attempts'>, outcome: AttemptOutcome): Op<void> {
  yield* finishClaimOp(OUTBOX_WORK, owner, row.id);
  const attempt = row.attempts + 1;
  yield* run(`INSERT INTO outbox_attempts (outbox_id, attempt, at, duration_ms, code, error, output) VALUES (?, ?, ?, ?, ?, ?, ?)`, [
    row.id,
    attempt,
    outcome.startedAt.toISOString(),
    outcome.durationMs,
    outcome.code,
    outcome.error,
    outcome.output ?? null,
  ]);
  yield* run(
    `UPDATE outbox SET status = @status, attempts = @attempt, last_code = @code, last_error = @error,
       next_attempt_at = COALESCE(@next, next_attempt_at), give_up_at = COALESCE(give_up_at, @giveUpAt),
       done_at = @doneAt
     WHERE id = @id`,
    {
      id: row.id,
      status: outcome.status,
      attempt,
      code: outcome.code,
      error: outcome.summary ?? outcome.error,
      next: outcome.nextAttemptAt ?? null,
      giveUpAt: outcome.giveUpAt ?? null,
      doneAt: outcome.status === 'pending' ? null : new Date(outcome.startedAt.getTime() + outcome.durationMs).toISOString(),
    },
  );
}

export interface OutboxEntry extends OutboxRow {
  kind: OutboxKind;
  target: string;
  filter: string | null;
  attempt_log: OutboxAttempt[];
}

export interface OutboxAttempt {
  attempt: number;
  at: string;
  duration_ms: number;
  code: number | null;
  error: string | null;
  output: string | null;
}

/** Every forward and hook of a delivery with its attempts (`events show`). */
export function outboxOfDelivery(db: DB, deliveryId: number): OutboxEntry[] {
  return runSqlite(db, outboxOfDeliveryOp(deliveryId));
}

export function* outboxOfDeliveryOp(deliveryId: number): Op<OutboxEntry[]> {
  const rows = yield* all<Omit<OutboxEntry, 'attempt_log'>>(
    `SELECT o.*, t.kind, t.target, t.filter FROM outbox o JOIN outbox_targets t ON t.id = o.target_id
     WHERE o.delivery_id = ? ORDER BY t.kind, t.id`,
    [deliveryId],
  );
  const entries: OutboxEntry[] = [];
  for (const row of rows) {
    const attempts = yield* all<OutboxAttempt>('SELECT attempt, at, duration_ms, code, error, output FROM outbox_attempts WHERE outbox_id = ? ORDER BY attempt', [row.id]);
    entries.push({ ...row, attempt_log: attempts });
  }
  return entries;
}

/** A short fingerprint of how a delivery's forwards and hooks stand: it changes with each attempt (the console's live view). */
export function outboxStamp(db: DB, deliveryId: number): string {
  return runSqlite(db, outboxStampOp(deliveryId));
}

export function* outboxStampOp(deliveryId: number): Op<string> {
  const row = yield* get<{ stamp: string }>(
    {
      sqlite: `SELECT COALESCE(group_concat(id || ':' || status || ':' || attempts || ':' || next_attempt_at, ','), '') AS stamp FROM outbox WHERE delivery_id = ?`,
      postgres: `SELECT COALESCE(string_agg(id || ':' || status || ':' || attempts || ':' || next_attempt_at, ',' ORDER BY id), '') AS stamp FROM outbox WHERE delivery_id = ?`,
    },
    [deliveryId],
  );
  return row!.stamp;
}

/** The forwards of a delivery (to `target` only, when given): where, and how they stand. */
export function* forwardsOfDeliveryOp(deliveryId: number, target?: string): Op<{ id: number; target: string; status: OutboxStatus }[]> {
  return yield* all<{ id: number; target: string; status: OutboxStatus }>(
    `SELECT o.id, t.target, o.status FROM outbox o JOIN outbox_targets t ON t.id = o.target_id
     WHERE o.delivery_id = @delivery AND t.kind = 'forward' AND (CAST(@target AS TEXT) IS NULL OR t.target = @target) ORDER BY t.id`,
    { delivery: deliveryId, target: target ?? null },
  );
}

/**
 * `events forward-retry`: the delivery's forwards (to `target` only, when given) that are not
 * done become due now, with a fresh retry window; returns their targets, or an empty list.
 */
export function* retryForwardsNowOp(deliveryId: number, options: { now: number; retryForMs: number; target?: string }): Op<{ id: number; target: string; status: OutboxStatus }[]> {
  const rows = yield* forwardsOfDeliveryOp(deliveryId, options.target);
  for (const row of rows) {
    yield* run(`UPDATE outbox SET status = 'pending', next_attempt_at = ?, give_up_at = ?, done_at = NULL WHERE id = ? AND status != 'done'`, [
      options.now,
      options.now + options.retryForMs,
      row.id,
    ]);
  }
  return rows;
}
