import type { DB } from './db.js';
import { claimDue, finishClaim, type WorkTable } from './claims.js';
import { cachedStatement } from './statements.js';

/**
 * The outbox: what is to be done for each delivery after it is stored, per target of a
 * `listen` run: a forward to a URL (`--forward-to`) or a hook command (`--exec`). Each
 * (delivery, target) is a row with its status, attempts, last answer and next attempt, and
 * every attempt is kept (`events show`). A target is known by its URL or command line; its
 * cursor is the highest delivery id already looked at, so a restart (or another receiver on
 * the same database) picks up exactly the deliveries not yet considered. Rows are claimed
 * like the delivery log's work (claims.ts): one process at a time per row.
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
export function registerTarget(db: DB, kind: OutboxKind, target: string, filter: string | null, now = new Date()): OutboxTarget {
  return db.transaction(() => {
    db.prepare(
      `INSERT INTO outbox_targets (kind, target, filter, cursor, created_at)
       VALUES (?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM deliveries), ?)
       ON CONFLICT (kind, target) DO UPDATE SET filter = excluded.filter`,
    ).run(kind, target, filter, now.toISOString());
    return db.prepare('SELECT id, kind, target, filter, cursor FROM outbox_targets WHERE kind = ? AND target = ?').get(kind, target) as OutboxTarget;
  }).immediate();
}

/** What enqueueing looks at of a delivery. */
export interface DeliveryHead {
  id: number;
  provider: string;
  event_type: string | null;
  received_at: string;
}

/**
 * Look at up to `limit` deliveries after the target's cursor: those `wanted` get a pending row
 * (due at once; a forward's retry window counts from now, a hook's from its first attempt),
 * and the cursor moves past all of them. Returns how many were looked at.
 */
export function enqueue(db: DB, target: Pick<OutboxTarget, 'id' | 'kind'>, wanted: (d: DeliveryHead) => boolean, options: { now: number; retryForMs: number; limit: number }): number {
  const heads = cachedStatement(
    db,
    `SELECT id, provider, event_type, received_at FROM deliveries
     WHERE id > (SELECT cursor FROM outbox_targets WHERE id = ?) ORDER BY id LIMIT ?`,
  );
  const insert = cachedStatement(
    db,
    `INSERT INTO outbox (target_id, delivery_id, status, attempts, next_attempt_at, give_up_at, created_at)
     VALUES (?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (target_id, delivery_id) DO NOTHING`,
  );
  const advance = cachedStatement(db, 'UPDATE outbox_targets SET cursor = MAX(cursor, ?) WHERE id = ?');
  const created = new Date(options.now).toISOString();
  const giveUpAt = target.kind === 'forward' ? options.now + options.retryForMs : null;
  const rows = heads.all(target.id, options.limit) as DeliveryHead[];
  for (const d of rows) {
    if (wanted(d)) insert.run(target.id, d.id, options.now, giveUpAt, created);
  }
  if (rows.length > 0) advance.run(rows[rows.length - 1]!.id, target.id);
  return rows.length;
}

/** The oldest pending forward of a target, when it is due and nobody holds it: forwards go in order, one at a time. */
export function claimForwardHead(db: DB, owner: string, targetId: number, options: { now: number; leaseMs: number }): OutboxRow | undefined {
  return claimDue<OutboxRow & Record<string, unknown>>(db, OUTBOX_WORK, {
    owner,
    due: `target_id = @target AND status = 'pending' AND next_attempt_at <= @now
          AND delivery_id = (SELECT MIN(o.delivery_id) FROM outbox o WHERE o.target_id = @target AND o.status = 'pending')`,
    order: 'delivery_id',
    limit: 1,
    params: { target: targetId },
    leaseMs: options.leaseMs,
    now: options.now,
  })[0];
}

/** Due hook runs of a target whose delivery's work is done (processed or failed), oldest first. */
export function claimDueHooks(db: DB, owner: string, targetId: number, options: { now: number; leaseMs: number; limit: number }): OutboxRow[] {
  return claimDue<OutboxRow & Record<string, unknown>>(db, OUTBOX_WORK, {
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
export function claimOutboxRow(db: DB, owner: string, id: number, options: { now: number; leaseMs: number }): OutboxRow | undefined {
  return claimDue<OutboxRow & Record<string, unknown>>(db, OUTBOX_WORK, {
    owner,
    due: `id = @row AND status = 'pending'`,
    order: 'id',
    limit: 1,
    params: { row: id },
    leaseMs: options.leaseMs,
    now: options.now,
  })[0];
}

/**
 * When the next row of a target may be claimed (epoch ms), if any: for forwards the oldest
 * pending one (the others wait behind it), for hooks those whose delivery's work is done.
 */
export function nextOutboxDue(db: DB, target: Pick<OutboxTarget, 'id' | 'kind'>): number | undefined {
  const sql =
    target.kind === 'forward'
      ? `SELECT next_attempt_at AS at FROM outbox WHERE target_id = ? AND status = 'pending' ORDER BY delivery_id LIMIT 1`
      : `SELECT MIN(next_attempt_at) AS at FROM outbox o WHERE o.target_id = ? AND o.status = 'pending'
           AND EXISTS (SELECT 1 FROM deliveries d WHERE d.id = o.delivery_id AND d.status IN ('processed', 'failed'))`;
  const row = cachedStatement(db, sql).get(target.id) as { at: number | null } | undefined;
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
export function recordAttempt(db: DB, owner: string, row: Pick<OutboxRow, 'id' | 'attempts'>, outcome: AttemptOutcome): void {
  finishClaim(db, OUTBOX_WORK, owner, row.id);
  const attempt = row.attempts + 1;
  cachedStatement(
    db,
    `INSERT INTO outbox_attempts (outbox_id, attempt, at, duration_ms, code, error, output) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(row.id, attempt, outcome.startedAt.toISOString(), outcome.durationMs, outcome.code, outcome.error, outcome.output ?? null);
  cachedStatement(
    db,
    `UPDATE outbox SET status = @status, attempts = @attempt, last_code = @code, last_error = @error,
       next_attempt_at = COALESCE(@next, next_attempt_at), give_up_at = COALESCE(give_up_at, @giveUpAt),
       done_at = CASE WHEN @status = 'pending' THEN NULL ELSE @at END
     WHERE id = @id`,
  ).run({
    id: row.id,
    status: outcome.status,
    attempt,
    code: outcome.code,
    error: outcome.summary ?? outcome.error,
    next: outcome.nextAttemptAt ?? null,
    giveUpAt: outcome.giveUpAt ?? null,
    at: new Date(outcome.startedAt.getTime() + outcome.durationMs).toISOString(),
  });
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
  const rows = db
    .prepare(
      `SELECT o.*, t.kind, t.target, t.filter FROM outbox o JOIN outbox_targets t ON t.id = o.target_id
       WHERE o.delivery_id = ? ORDER BY t.kind, t.id`,
    )
    .all(deliveryId) as Omit<OutboxEntry, 'attempt_log'>[];
  const attempts = db.prepare('SELECT attempt, at, duration_ms, code, error, output FROM outbox_attempts WHERE outbox_id = ? ORDER BY attempt');
  return rows.map((row) => ({ ...row, attempt_log: attempts.all(row.id) as OutboxAttempt[] }));
}

/** A short fingerprint of how a delivery's forwards and hooks stand: it changes with each attempt (the console's live view). */
export function outboxStamp(db: DB, deliveryId: number): string {
  const row = cachedStatement(
    db,
    `SELECT COALESCE(group_concat(id || ':' || status || ':' || attempts || ':' || next_attempt_at, ','), '') AS stamp FROM outbox WHERE delivery_id = ?`,
  ).get(deliveryId) as { stamp: string };
  return row.stamp;
}

/** The forwards of a delivery (to `target` only, when given): where, and how they stand. */
export function forwardsOfDelivery(db: DB, deliveryId: number, target?: string): { id: number; target: string; status: OutboxStatus }[] {
  return db
    .prepare(
      `SELECT o.id, t.target, o.status FROM outbox o JOIN outbox_targets t ON t.id = o.target_id
       WHERE o.delivery_id = ? AND t.kind = 'forward' AND (? IS NULL OR t.target = ?) ORDER BY t.id`,
    )
    .all(deliveryId, target ?? null, target ?? null) as { id: number; target: string; status: OutboxStatus }[];
}

/**
 * `events forward-retry`: the delivery's forwards (to `target` only, when given) that are not
 * done become due now, with a fresh retry window; returns their targets, or an empty list.
 */
export function retryForwardsNow(db: DB, deliveryId: number, options: { now: number; retryForMs: number; target?: string }): { id: number; target: string; status: OutboxStatus }[] {
  return db.transaction(() => {
    const rows = forwardsOfDelivery(db, deliveryId, options.target);
    const reset = db.prepare(
      `UPDATE outbox SET status = 'pending', next_attempt_at = ?, give_up_at = ?, done_at = NULL WHERE id = ? AND status != 'done'`,
    );
    for (const row of rows) reset.run(options.now, options.now + options.retryForMs, row.id);
    return rows;
  }).immediate();
}
