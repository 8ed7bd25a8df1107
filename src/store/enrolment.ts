import type { DB } from './db.js';
import { all, run, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * Remote enrolment: invites (one-use links, stored only as the SHA-256 of their token, with the
 * SHA-256 of the OAuth `state` of the consent under way) and the public URL of the `listen`
 * runs serving this database, which `participants invite` builds its links on.
 */

export interface InviteRow {
  token_sha256: string;
  label: string;
  provider: string;
  created_at: string;
  expires_at: string;
  state_sha256: string | null;
  state_expires_at: string | null;
  redirect_uri: string | null;
  used_at: string | null;
  enrolled_user_id: string | null;
}

export function* insertInviteOp(invite: { tokenSha256: string; label: string; createdAt: Date; expiresAt: Date }): Op<void> {
  yield* run(`INSERT INTO enrolment_invites (token_sha256, label, provider, created_at, expires_at) VALUES (?, ?, 'oura', ?, ?)`, [
    invite.tokenSha256,
    invite.label,
    invite.createdAt.toISOString(),
    invite.expiresAt.toISOString(),
  ]);
}

export function insertInvite(db: DB, invite: { tokenSha256: string; label: string; createdAt: Date; expiresAt: Date }): void {
  runSqlite(db, insertInviteOp(invite));
}

export function inviteByToken(db: DB, tokenSha256: string): InviteRow | undefined {
  return db.prepare('SELECT * FROM enrolment_invites WHERE token_sha256 = ?').get(tokenSha256) as InviteRow | undefined;
}

export function inviteByState(db: DB, stateSha256: string): InviteRow | undefined {
  return db.prepare('SELECT * FROM enrolment_invites WHERE state_sha256 = ?').get(stateSha256) as InviteRow | undefined;
}

/** The consent now under way for an unused invite (a later visit of the link replaces an earlier one). */
export function beginConsent(db: DB, tokenSha256: string, consent: { stateSha256: string; stateExpiresAt: Date; redirectUri: string }): boolean {
  return (
    db
      .prepare(
        `UPDATE enrolment_invites SET state_sha256 = ?, state_expires_at = ?, redirect_uri = ?
         WHERE token_sha256 = ? AND used_at IS NULL`,
      )
      .run(consent.stateSha256, consent.stateExpiresAt.toISOString(), consent.redirectUri, tokenSha256).changes > 0
  );
}

/**
 * Take the invite for the one callback that completes it: only while unused and still bound to
 * this state, so that two callbacks never both proceed. Its state is spent either way.
 */
export function claimInvite(db: DB, tokenSha256: string, stateSha256: string, now: Date): boolean {
  return (
    db
      .prepare(
        `UPDATE enrolment_invites SET used_at = ?, state_sha256 = NULL, state_expires_at = NULL
         WHERE token_sha256 = ? AND used_at IS NULL AND state_sha256 = ?`,
      )
      .run(now.toISOString(), tokenSha256, stateSha256).changes > 0
  );
}

/** The enrolment failed after the claim (Oura refused the code, ...): the link works again. */
export function releaseInvite(db: DB, tokenSha256: string): void {
  db.prepare('UPDATE enrolment_invites SET used_at = NULL WHERE token_sha256 = ? AND enrolled_user_id IS NULL').run(tokenSha256);
}

export function completeInvite(db: DB, tokenSha256: string, userId: string): void {
  db.prepare('UPDATE enrolment_invites SET enrolled_user_id = ? WHERE token_sha256 = ?').run(userId, tokenSha256);
}

export interface PublicUrlRow {
  id: number;
  public_url: string;
  pid: number;
  host: string;
  started_at: string;
  updated_at: string;
}

/** A `listen` run's public URL, recorded when its public side opens; returns the row's id. */
export function recordPublicUrl(db: DB, run: { publicUrl: string; pid: number; host: string }, now = new Date()): number {
  const ts = now.toISOString();
  return Number(
    db.prepare('INSERT INTO listen_public_urls (public_url, pid, host, started_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(run.publicUrl, run.pid, run.host, ts, ts)
      .lastInsertRowid,
  );
}

/** The run's tunnel came back on a new URL. */
export function updatePublicUrl(db: DB, id: number, publicUrl: string, now = new Date()): void {
  db.prepare('UPDATE listen_public_urls SET public_url = ?, updated_at = ? WHERE id = ?').run(publicUrl, now.toISOString(), id);
}

export function* forgetPublicUrlOp(id: number): Op<void> {
  yield* run('DELETE FROM listen_public_urls WHERE id = ?', [id]);
}

export function forgetPublicUrl(db: DB, id: number): void {
  runSqlite(db, forgetPublicUrlOp(id));
}

/** Recorded public URLs, the most recently updated first. */
export function* publicUrlsOp(): Op<PublicUrlRow[]> {
  return yield* all<PublicUrlRow>('SELECT * FROM listen_public_urls ORDER BY updated_at DESC, id DESC');
}
