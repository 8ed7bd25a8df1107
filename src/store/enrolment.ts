import { all, get, run, type Op } from './sql.js';

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

export function* inviteByTokenOp(tokenSha256: string): Op<InviteRow | undefined> {
  return yield* get<InviteRow>('SELECT * FROM enrolment_invites WHERE token_sha256 = ?', [tokenSha256]);
}

export function* inviteByStateOp(stateSha256: string): Op<InviteRow | undefined> {
  return yield* get<InviteRow>('SELECT * FROM enrolment_invites WHERE state_sha256 = ?', [stateSha256]);
}

/** The consent now under way for an unused invite (a later visit of the link replaces an earlier one). */
export function* beginConsentOp(tokenSha256: string, consent: { stateSha256: string; stateExpiresAt: Date; redirectUri: string }): Op<boolean> {
  const result = yield* run(
    `UPDATE enrolment_invites SET state_sha256 = ?, state_expires_at = ?, redirect_uri = ?
     WHERE token_sha256 = ? AND used_at IS NULL`,
    [consent.stateSha256, consent.stateExpiresAt.toISOString(), consent.redirectUri, tokenSha256],
  );
  return result.changes > 0;
}

/**
 * Take the invite for the one callback that completes it: only while unused and still bound to
 * this state, so that two callbacks (on any receivers of the database) never both proceed. Its
 * state is spent either way.
 */
export function* claimInviteOp(tokenSha256: string, stateSha256: string, now: Date): Op<boolean> {
  const result = yield* run(
    `UPDATE enrolment_invites SET used_at = ?, state_sha256 = NULL, state_expires_at = NULL
     WHERE token_sha256 = ? AND used_at IS NULL AND state_sha256 = ?`,
    [now.toISOString(), tokenSha256, stateSha256],
  );
  return result.changes > 0;
}

/** The enrolment failed after the claim (Oura refused the code, ...): the link works again. */
export function* releaseInviteOp(tokenSha256: string): Op<void> {
  yield* run('UPDATE enrolment_invites SET used_at = NULL WHERE token_sha256 = ? AND enrolled_user_id IS NULL', [tokenSha256]);
}

export function* completeInviteOp(tokenSha256: string, userId: string): Op<void> {
  yield* run('UPDATE enrolment_invites SET enrolled_user_id = ? WHERE token_sha256 = ?', [userId, tokenSha256]);
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
export function* recordPublicUrlOp(listen: { publicUrl: string; pid: number; host: string }, now = new Date()): Op<number> {
  const ts = now.toISOString();
  const row = yield* get<{ id: number }>('INSERT INTO listen_public_urls (public_url, pid, host, started_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id', [
    listen.publicUrl,
    listen.pid,
    listen.host,
    ts,
    ts,
  ]);
  return Number(row!.id);
}

/** The run's tunnel came back on a new URL. */
export function* updatePublicUrlOp(id: number, publicUrl: string, now = new Date()): Op<void> {
  yield* run('UPDATE listen_public_urls SET public_url = ?, updated_at = ? WHERE id = ?', [publicUrl, now.toISOString(), id]);
}

export function* forgetPublicUrlOp(id: number): Op<void> {
  yield* run('DELETE FROM listen_public_urls WHERE id = ?', [id]);
}

/** Recorded public URLs, the most recently updated first. */
export function* publicUrlsOp(): Op<PublicUrlRow[]> {
  return yield* all<PublicUrlRow>('SELECT * FROM listen_public_urls ORDER BY updated_at DESC, id DESC');
}
