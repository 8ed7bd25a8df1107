import crypto from 'node:crypto';
import type { DB } from './db.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';
import { all, get, run, sql, type Op } from './sql.js';
import { sha256Hex, verificationTokenMatches } from '../providers/oura/webhook.js';

/**
 * What the database knows of Oura webhook subscriptions: a mirror of Oura's list, plus the
 * SHA-256 of the verification token of those wearhook created, so that `listen` can answer
 * Oura's challenge. The token itself is a secret and never enters the database.
 */
export interface SubscriptionRow {
  id: string;
  provider: string;
  callback_url: string;
  event_type: string;
  data_type: string;
  expiration_time: string | null;
  verification_token_sha256: string | null;
  created_by_wearhook: number;
  created_at: string;
  updated_at: string;
}

/** The remote fields of a subscription (what Oura returns). */
export interface SubscriptionRecord {
  id: string;
  callback_url: string;
  event_type: string;
  data_type: string;
  expiration_time: string | null;
}

/** A pending token is trusted this long: far more than one create call takes, and a crash leaves nothing trusted for ever. */
export const PENDING_TOKEN_TTL_MS = 10 * 60_000;

/** The form a verification token is stored in. */
export const hashVerificationToken = sha256Hex;

/** A fresh random verification token (192 bits, URL-safe so it survives the challenge's query string). */
export function newVerificationToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/**
 * SHA-256 hex of every verification token Oura may present in a challenge now: those of the
 * subscriptions wearhook created, and those of subscriptions being created right now (Oura's
 * challenge arrives before its create call returns).
 */
export function knownVerificationTokenHashes(db: DB, now = new Date()): string[] {
  return runSqlite(db, knownVerificationTokenHashesOp(now));
}

export function* knownVerificationTokenHashesOp(now = new Date()): Op<string[]> {
  const cutoff = new Date(now.getTime() - PENDING_TOKEN_TTL_MS).toISOString();
  const rows = yield* all<{ h: string }>(
    `SELECT verification_token_sha256 AS h FROM subscriptions
       WHERE provider = 'oura' AND verification_token_sha256 IS NOT NULL
     UNION ALL
     SELECT token_sha256 AS h FROM pending_verification_tokens WHERE created_at >= ?`,
    [cutoff],
  );
  return rows.map((r) => r.h);
}

/**
 * True when `token` is the verification token of an Oura subscription wearhook created or is
 * creating (compared as hashes, in constant time). The receiver does the same with
 * knownVerificationTokenHashes() plus the hash of its own --verification-token.
 */
export function isKnownVerificationToken(db: DB, token: string, now = new Date()): boolean {
  return token !== '' && verificationTokenMatches(token, knownVerificationTokenHashes(db, now));
}

export interface PendingToken {
  tokenSha256: string;
  callbackUrl: string;
  eventType: string;
  dataType: string;
}

/** Record the token hash of a subscription about to be created; returns the pending row's id. */
export function addPendingVerificationToken(db: DB, pending: PendingToken, now = new Date()): number {
  return transactSqlite(db, addPendingVerificationTokenOp, pending, now);
}

export function* addPendingVerificationTokenOp(pending: PendingToken, now = new Date()): Op<number> {
  // Rows left behind by a process that died mid-create are swept here.
  yield* run('DELETE FROM pending_verification_tokens WHERE created_at < ?', [new Date(now.getTime() - PENDING_TOKEN_TTL_MS).toISOString()]);
  const row = yield* get<{ id: number }>(
    `INSERT INTO pending_verification_tokens (token_sha256, callback_url, event_type, data_type, created_at)
     VALUES (?, ?, ?, ?, ?) RETURNING id`,
    [pending.tokenSha256, pending.callbackUrl, pending.eventType, pending.dataType, now.toISOString()],
  );
  return Number(row!.id);
}

export function removePendingVerificationToken(db: DB, pendingId: number): void {
  runSqlite(db, removePendingVerificationTokenOp(pendingId));
}

export function* removePendingVerificationTokenOp(pendingId: number): Op<void> {
  yield* run('DELETE FROM pending_verification_tokens WHERE id = ?', [pendingId]);
}

export interface UpsertOptions {
  tokenSha256?: string;
  createdByWearhook?: boolean;
}

const UPSERT_SUBSCRIPTION = sql`INSERT INTO subscriptions (id, provider, callback_url, event_type, data_type, expiration_time,
                                verification_token_sha256, created_by_wearhook, created_at, updated_at)
     VALUES (@id, 'oura', @callbackUrl, @eventType, @dataType, @expirationTime, @tokenSha256, @createdByWearhook, @ts, @ts)
     ON CONFLICT (id) DO UPDATE SET
       callback_url = excluded.callback_url, event_type = excluded.event_type, data_type = excluded.data_type,
       expiration_time = excluded.expiration_time,
       verification_token_sha256 = COALESCE(excluded.verification_token_sha256, subscriptions.verification_token_sha256),
       created_by_wearhook = ${{ sqlite: 'MAX', postgres: 'GREATEST' }}(excluded.created_by_wearhook, subscriptions.created_by_wearhook),
       updated_at = excluded.updated_at`;

/**
 * Insert or update a subscription from Oura's answer. The token hash and the created-by-
 * wearhook mark are only ever added, never cleared by a later sync that cannot know them.
 */
export function upsertSubscription(db: DB, sub: SubscriptionRecord, options: UpsertOptions = {}, now = new Date()): void {
  runSqlite(db, upsertSubscriptionOp(sub, options, now));
}

export function* upsertSubscriptionOp(sub: SubscriptionRecord, options: UpsertOptions = {}, now = new Date()): Op<void> {
  yield* run(UPSERT_SUBSCRIPTION, {
    id: sub.id,
    callbackUrl: sub.callback_url,
    eventType: sub.event_type,
    dataType: sub.data_type,
    expirationTime: sub.expiration_time || null,
    tokenSha256: options.tokenSha256 ?? null,
    createdByWearhook: options.createdByWearhook ? 1 : 0,
    ts: now.toISOString(),
  });
}

/**
 * Make the store mirror Oura's list: add or update every subscription Oura returned and drop
 * those it no longer has. Rows written after `listedAt` are kept: a create that finished
 * while the list was on its way is not yet in that list.
 */
export function syncSubscriptions(db: DB, remote: SubscriptionRecord[], listedAt: Date, now = new Date()): void {
  // IMMEDIATE: the write lock first: a transaction that reads first fails when another process writes meanwhile.
  transactSqlite(db, syncSubscriptionsOp, remote, listedAt, now);
}

export function* syncSubscriptionsOp(remote: readonly SubscriptionRecord[], listedAt: Date, now = new Date()): Op<void> {
  for (const sub of remote) yield* upsertSubscriptionOp(sub, {}, now);
  const keep = new Set(remote.map((s) => s.id));
  const stale = yield* all<{ id: string }>("SELECT id FROM subscriptions WHERE provider = 'oura' AND updated_at < ?", [listedAt.toISOString()]);
  for (const { id } of stale) if (!keep.has(id)) yield* deleteStoredSubscriptionOp(id);
}

/** Record a subscription created by wearhook and retire its pending token, in one step. */
export function saveCreatedSubscription(db: DB, sub: SubscriptionRecord, tokenSha256: string, pendingId: number, now = new Date()): void {
  transactSqlite(db, saveCreatedSubscriptionOp, sub, tokenSha256, pendingId, now);
}

export function* saveCreatedSubscriptionOp(sub: SubscriptionRecord, tokenSha256: string, pendingId: number, now = new Date()): Op<void> {
  yield* upsertSubscriptionOp(sub, { tokenSha256, createdByWearhook: true }, now);
  yield* removePendingVerificationTokenOp(pendingId);
}

export function listStoredSubscriptions(db: DB): SubscriptionRow[] {
  return runSqlite(db, listStoredSubscriptionsOp());
}

export function* listStoredSubscriptionsOp(): Op<SubscriptionRow[]> {
  return yield* all<SubscriptionRow>("SELECT * FROM subscriptions WHERE provider = 'oura' ORDER BY data_type, event_type, id");
}

export function getStoredSubscription(db: DB, id: string): SubscriptionRow | undefined {
  return runSqlite(db, getStoredSubscriptionOp(id));
}

export function* getStoredSubscriptionOp(id: string): Op<SubscriptionRow | undefined> {
  return yield* get<SubscriptionRow>("SELECT * FROM subscriptions WHERE provider = 'oura' AND id = ?", [id]);
}

export function deleteStoredSubscription(db: DB, id: string): void {
  runSqlite(db, deleteStoredSubscriptionOp(id));
}

export function* deleteStoredSubscriptionOp(id: string): Op<void> {
  yield* run('DELETE FROM subscriptions WHERE id = ?', [id]);
}
