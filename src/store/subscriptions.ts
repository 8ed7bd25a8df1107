import crypto from 'node:crypto';
import type { DB } from './db.js';
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
  const cutoff = new Date(now.getTime() - PENDING_TOKEN_TTL_MS).toISOString();
  const rows = db
    .prepare(
      `SELECT verification_token_sha256 AS h FROM subscriptions
         WHERE provider = 'oura' AND verification_token_sha256 IS NOT NULL
       UNION ALL
       SELECT token_sha256 AS h FROM pending_verification_tokens WHERE created_at >= ?`,
    )
    .all(cutoff) as { h: string }[];
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

/** Record the token hash of a subscription about to be created; returns the pending row's id. */
export function addPendingVerificationToken(
  db: DB,
  pending: { tokenSha256: string; callbackUrl: string; eventType: string; dataType: string },
  now = new Date(),
): number {
  // Rows left behind by a process that died mid-create are swept here.
  db.prepare('DELETE FROM pending_verification_tokens WHERE created_at < ?').run(
    new Date(now.getTime() - PENDING_TOKEN_TTL_MS).toISOString(),
  );
  return Number(
    db
      .prepare(
        `INSERT INTO pending_verification_tokens (token_sha256, callback_url, event_type, data_type, created_at)
         VALUES (?, ?, ?, ?, ?)`,
      )
      .run(pending.tokenSha256, pending.callbackUrl, pending.eventType, pending.dataType, now.toISOString()).lastInsertRowid,
  );
}

export function removePendingVerificationToken(db: DB, pendingId: number): void {
  db.prepare('DELETE FROM pending_verification_tokens WHERE id = ?').run(pendingId);
}

/**
 * Insert or update a subscription from Oura's answer. The token hash and the created-by-
 * wearhook mark are only ever added, never cleared by a later sync that cannot know them.
 */
export function upsertSubscription(
  db: DB,
  sub: SubscriptionRecord,
  options: { tokenSha256?: string; createdByWearhook?: boolean } = {},
  now = new Date(),
): void {
  db.prepare(
    `INSERT INTO subscriptions (id, provider, callback_url, event_type, data_type, expiration_time,
                                verification_token_sha256, created_by_wearhook, created_at, updated_at)
     VALUES (@id, 'oura', @callbackUrl, @eventType, @dataType, @expirationTime, @tokenSha256, @createdByWearhook, @ts, @ts)
     ON CONFLICT (id) DO UPDATE SET
       callback_url = excluded.callback_url, event_type = excluded.event_type, data_type = excluded.data_type,
       expiration_time = excluded.expiration_time,
       verification_token_sha256 = COALESCE(excluded.verification_token_sha256, subscriptions.verification_token_sha256),
       created_by_wearhook = MAX(excluded.created_by_wearhook, subscriptions.created_by_wearhook),
       updated_at = excluded.updated_at`,
  ).run({
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
  db.transaction(() => {
    for (const sub of remote) upsertSubscription(db, sub, {}, now);
    const keep = new Set(remote.map((s) => s.id));
    const stale = db
      .prepare("SELECT id FROM subscriptions WHERE provider = 'oura' AND updated_at < ?")
      .all(listedAt.toISOString()) as { id: string }[];
    const remove = db.prepare('DELETE FROM subscriptions WHERE id = ?');
    for (const { id } of stale) if (!keep.has(id)) remove.run(id);
  }).immediate(); // the write lock first: a transaction that reads first fails when another process writes meanwhile
}

/** Record a subscription created by wearhook and retire its pending token, in one step. */
export function saveCreatedSubscription(db: DB, sub: SubscriptionRecord, tokenSha256: string, pendingId: number, now = new Date()): void {
  db.transaction(() => {
    upsertSubscription(db, sub, { tokenSha256, createdByWearhook: true }, now);
    removePendingVerificationToken(db, pendingId);
  }).immediate();
}

export function listStoredSubscriptions(db: DB): SubscriptionRow[] {
  return db
    .prepare("SELECT * FROM subscriptions WHERE provider = 'oura' ORDER BY data_type, event_type, id")
    .all() as SubscriptionRow[];
}

export function getStoredSubscription(db: DB, id: string): SubscriptionRow | undefined {
  return db.prepare("SELECT * FROM subscriptions WHERE provider = 'oura' AND id = ?").get(id) as SubscriptionRow | undefined;
}

export function deleteStoredSubscription(db: DB, id: string): void {
  db.prepare('DELETE FROM subscriptions WHERE id = ?').run(id);
}
