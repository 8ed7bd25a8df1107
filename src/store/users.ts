import type { DB } from './db.js';
import { ensureParticipantOp, linkAccountOp } from './participants.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';
import { all, get, run, type Op } from './sql.js';

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
  transactSqlite(db, upsertUserOp, user, now);
}

/** The user authorized (again): its scopes and token expiry, its re-authorization cleared, and its participant when a label is given. */
export function* upsertUserOp(user: UserInput, now = new Date()): Op<void> {
  const ts = now.toISOString();
  yield* run(
    `INSERT INTO users (provider, user_id, scopes, created_at, updated_at, token_expires_at, needs_reauth)
     VALUES (@provider, @userId, @scopes, @ts, @ts, @tokenExpiresAt, 0)
     ON CONFLICT (provider, user_id) DO UPDATE SET
       scopes = COALESCE(excluded.scopes, users.scopes),
       token_expires_at = COALESCE(excluded.token_expires_at, users.token_expires_at),
       updated_at = excluded.updated_at, needs_reauth = 0, last_error = NULL`,
    {
      provider: user.provider,
      userId: user.userId,
      scopes: user.scopes ?? null,
      tokenExpiresAt: user.tokenExpiresAt ?? null,
      ts,
    },
  );
  if (user.label) {
    yield* ensureParticipantOp(user.label, now);
    yield* linkAccountOp({ provider: user.provider, userId: user.userId, label: user.label }, now);
  }
}

/** Users with the label of the participant their account belongs to. */
const SELECT_USERS = `SELECT u.provider, u.user_id, pa.label AS label, u.scopes, u.created_at, u.updated_at,
         u.token_expires_at, u.needs_reauth, u.last_error
    FROM users u LEFT JOIN participant_accounts pa ON pa.provider = u.provider AND pa.user_id = u.user_id`;

export function listUsers(db: DB, provider?: string): UserRow[] {
  return runSqlite(db, listUsersOp(provider));
}

/** Every user (of one provider, when given), by provider and user id. */
export function* listUsersOp(provider?: string): Op<UserRow[]> {
  if (provider) return yield* all<UserRow>(`${SELECT_USERS} WHERE u.provider = ? ORDER BY u.user_id`, [provider]);
  return yield* all<UserRow>(`${SELECT_USERS} ORDER BY u.provider, u.user_id`);
}

export function getUser(db: DB, provider: string, userId: string): UserRow | undefined {
  return runSqlite(db, getUserOp(provider, userId));
}

export function* getUserOp(provider: string, userId: string): Op<UserRow | undefined> {
  return yield* get<UserRow>(`${SELECT_USERS} WHERE u.provider = ? AND u.user_id = ?`, [provider, userId]);
}

/** The users of one provider whose accounts belong to the participant `label`. */
export function findUsersByLabel(db: DB, provider: string, label: string): UserRow[] {
  return runSqlite(db, findUsersByLabelOp(provider, label));
}

export function* findUsersByLabelOp(provider: string, label: string): Op<UserRow[]> {
  return yield* all<UserRow>(`${SELECT_USERS} WHERE u.provider = ? AND pa.label = ? ORDER BY u.user_id`, [provider, label]);
}

export interface TokenState {
  tokenExpiresAt?: string | null;
  needsReauth?: boolean;
  lastError?: string | null;
}

export function updateUserTokenState(db: DB, provider: string, userId: string, state: TokenState, now = new Date()): void {
  runSqlite(db, updateUserTokenStateOp(provider, userId, state, now));
}

export function* updateUserTokenStateOp(provider: string, userId: string, state: TokenState, now = new Date()): Op<void> {
  yield* run(
    `UPDATE users SET
       token_expires_at = COALESCE(@tokenExpiresAt, token_expires_at),
       needs_reauth = @needsReauth, last_error = @lastError, updated_at = @ts
     WHERE provider = @provider AND user_id = @userId`,
    {
      provider,
      userId,
      tokenExpiresAt: state.tokenExpiresAt ?? null,
      needsReauth: state.needsReauth ? 1 : 0,
      lastError: state.lastError ?? null,
      ts: now.toISOString(),
    },
  );
}

export function deleteUser(db: DB, provider: string, userId: string): boolean {
  return runSqlite(db, deleteUserOp(provider, userId));
}

export function* deleteUserOp(provider: string, userId: string): Op<boolean> {
  return (yield* run('DELETE FROM users WHERE provider = ? AND user_id = ?', [provider, userId])).changes > 0;
}
