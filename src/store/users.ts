import type { DB } from './db.js';
import { ensureParticipant, linkAccount } from './participants.js';

/** What the database knows of a user. Tokens are never here: they live in the credential store. */
export interface UserRow {
  provider: string;
  user_id: string;
  /** The participant this account belongs to (participant_accounts), if any. */
  label: string | null;
  scopes: string | null;
  created_at: string;
  updated_at: string | null;
  token_expires_at: string | null;
  needs_reauth: number;
  last_error: string | null;
}

export interface UserInput {
  provider: string;
  userId: string;
  /** Link the account to this participant (created if new); absent or null keeps the current link. */
  label?: string | null;
  scopes?: string | null;
  tokenExpiresAt?: string | null;
}

export function upsertUser(db: DB, user: UserInput, now = new Date()): void {
  const ts = now.toISOString();
  db.transaction(() => {
    db.prepare(
      `INSERT INTO users (provider, user_id, scopes, created_at, updated_at, token_expires_at, needs_reauth)
       VALUES (@provider, @userId, @scopes, @ts, @ts, @tokenExpiresAt, 0)
       ON CONFLICT (provider, user_id) DO UPDATE SET
         scopes = COALESCE(excluded.scopes, users.scopes),
         token_expires_at = COALESCE(excluded.token_expires_at, users.token_expires_at),
         updated_at = excluded.updated_at, needs_reauth = 0, last_error = NULL`,
    ).run({
      provider: user.provider,
      userId: user.userId,
      scopes: user.scopes ?? null,
      tokenExpiresAt: user.tokenExpiresAt ?? null,
      ts,
    });
    if (user.label) {
      ensureParticipant(db, user.label, now);
      linkAccount(db, { provider: user.provider, userId: user.userId, label: user.label }, now);
    }
  })();
}

/** Users with the label of the participant their account belongs to. */
const SELECT_USERS = `SELECT u.provider, u.user_id, pa.label AS label, u.scopes, u.created_at, u.updated_at,
         u.token_expires_at, u.needs_reauth, u.last_error
    FROM users u LEFT JOIN participant_accounts pa ON pa.provider = u.provider AND pa.user_id = u.user_id`;

export function listUsers(db: DB, provider?: string): UserRow[] {
  if (provider) {
    return db.prepare(`${SELECT_USERS} WHERE u.provider = ? ORDER BY u.user_id`).all(provider) as UserRow[];
  }
  return db.prepare(`${SELECT_USERS} ORDER BY u.provider, u.user_id`).all() as UserRow[];
}

export function getUser(db: DB, provider: string, userId: string): UserRow | undefined {
  return db.prepare(`${SELECT_USERS} WHERE u.provider = ? AND u.user_id = ?`).get(provider, userId) as UserRow | undefined;
}

/** The users of one provider whose accounts belong to the participant `label`. */
export function findUsersByLabel(db: DB, provider: string, label: string): UserRow[] {
  return db.prepare(`${SELECT_USERS} WHERE u.provider = ? AND pa.label = ? ORDER BY u.user_id`).all(provider, label) as UserRow[];
}

export function updateUserTokenState(
  db: DB,
  provider: string,
  userId: string,
  state: { tokenExpiresAt?: string | null; needsReauth?: boolean; lastError?: string | null },
  now = new Date(),
): void {
  db.prepare(
    `UPDATE users SET
       token_expires_at = COALESCE(@tokenExpiresAt, token_expires_at),
       needs_reauth = @needsReauth, last_error = @lastError, updated_at = @ts
     WHERE provider = @provider AND user_id = @userId`,
  ).run({
    provider,
    userId,
    tokenExpiresAt: state.tokenExpiresAt ?? null,
    needsReauth: state.needsReauth ? 1 : 0,
    lastError: state.lastError ?? null,
    ts: now.toISOString(),
  });
}

export function deleteUser(db: DB, provider: string, userId: string): boolean {
  return db.prepare('DELETE FROM users WHERE provider = ? AND user_id = ?').run(provider, userId).changes > 0;
}
