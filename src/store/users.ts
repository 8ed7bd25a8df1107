import type { DB } from './db.js';

/** What the database knows of a user. Tokens are never here: they live in the credential store. */
export interface UserRow {
  provider: string;
  user_id: string;
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
  label?: string | null;
  scopes?: string | null;
  tokenExpiresAt?: string | null;
}

export function upsertUser(db: DB, user: UserInput, now = new Date()): void {
  const ts = now.toISOString();
  db.prepare(
    `INSERT INTO users (provider, user_id, label, scopes, created_at, updated_at, token_expires_at, needs_reauth)
     VALUES (@provider, @userId, @label, @scopes, @ts, @ts, @tokenExpiresAt, 0)
     ON CONFLICT (provider, user_id) DO UPDATE SET
       label = COALESCE(excluded.label, users.label), scopes = COALESCE(excluded.scopes, users.scopes),
       token_expires_at = COALESCE(excluded.token_expires_at, users.token_expires_at),
       updated_at = excluded.updated_at, needs_reauth = 0, last_error = NULL`,
  ).run({
    provider: user.provider,
    userId: user.userId,
    label: user.label ?? null,
    scopes: user.scopes ?? null,
    tokenExpiresAt: user.tokenExpiresAt ?? null,
    ts,
  });
}

export function listUsers(db: DB, provider?: string): UserRow[] {
  if (provider) {
    return db.prepare('SELECT * FROM users WHERE provider = ? ORDER BY user_id').all(provider) as UserRow[];
  }
  return db.prepare('SELECT * FROM users ORDER BY provider, user_id').all() as UserRow[];
}

export function getUser(db: DB, provider: string, userId: string): UserRow | undefined {
  return db.prepare('SELECT * FROM users WHERE provider = ? AND user_id = ?').get(provider, userId) as UserRow | undefined;
}

export function findUserByLabel(db: DB, provider: string, label: string): UserRow | undefined {
  return db.prepare('SELECT * FROM users WHERE provider = ? AND label = ?').get(provider, label) as UserRow | undefined;
}

/** Any provider: used by `export --label`. */
export function findUsersByLabel(db: DB, label: string): UserRow[] {
  return db.prepare('SELECT * FROM users WHERE label = ?').all(label) as UserRow[];
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
