import { CredentialStore } from '../../src/credentials/token-store.js';
import { storeLocation } from '../../src/store/location.js';
import { openStore } from '../../src/store/open.js';
import { upsertUserOp } from '../../src/store/users.js';
import type { IssuedTokens, OuraFake } from './oura-fake.js';

/**
 * Put an Oura user into a wearhook config dir and database as if `wearhook auth oura` had
 * run against `fake`: tokens in the credential file, the user row (and its participant, with
 * `label`) in the store `dbPath` names: a SQLite file, or a postgres:// URL of a migrated database.
 * `accessTokenExpired` stores an access token that is already past its expiry (and dead
 * at the fake), so the first data call must refresh.
 */
export async function seedOuraUser(
  fake: OuraFake,
  options: { configDir: string; dbPath: string; userId: string; label?: string; scope?: string; accessTokenExpired?: boolean },
): Promise<IssuedTokens> {
  if (!fake.users.has(options.userId)) fake.addUser({ id: options.userId, email: `${options.userId}@example.com` });
  const tokens = fake.issueTokens(options.userId, { scope: options.scope, expiresIn: options.accessTokenExpired ? -60 : undefined });
  const expiresAt = new Date(Date.now() + tokens.expires_in * 1000).toISOString();
  const previous = process.env.WEARHOOK_CONFIG_DIR;
  process.env.WEARHOOK_CONFIG_DIR = options.configDir;
  try {
    await new CredentialStore().save('oura', options.userId, {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      expires_at: expiresAt,
      scopes: tokens.scope.split(' '),
      obtained_at: new Date().toISOString(),
    });
  } finally {
    if (previous === undefined) delete process.env.WEARHOOK_CONFIG_DIR;
    else process.env.WEARHOOK_CONFIG_DIR = previous;
  }
  // The user row (and its participant) as `auth oura` writes it, on SQLite or PostgreSQL.
  const store = await openStore(storeLocation(options.dbPath));
  try {
    await store.run(upsertUserOp, { provider: 'oura', userId: options.userId, label: options.label ?? null, scopes: tokens.scope, tokenExpiresAt: expiresAt });
  } finally {
    await store.close();
  }
  return tokens;
}

/** The tokens wearhook holds for a user in a config dir (to check they still work at the fake). */
export function storedOuraTokens(configDir: string, userId: string) {
  const previous = process.env.WEARHOOK_CONFIG_DIR;
  process.env.WEARHOOK_CONFIG_DIR = configDir;
  try {
    return new CredentialStore().get('oura', userId);
  } finally {
    if (previous === undefined) delete process.env.WEARHOOK_CONFIG_DIR;
    else process.env.WEARHOOK_CONFIG_DIR = previous;
  }
}
