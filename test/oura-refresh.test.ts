import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { Settings } from '../src/config/settings.js';
import { HttpClient } from '../src/net/http-client.js';
import { getUserOp } from '../src/store/users.js';
import type { Store } from '../src/store/store.js';
import { fetchOuraDocument } from '../src/providers/oura/fetch-document.js';
import { OuraReauthRequiredError, type OuraDeps } from '../src/providers/oura/session.js';
import { openTestStore, testDatabase } from './helpers/engine.js';
import { seedOuraUser, storedOuraTokens } from './helpers/oura-user.js';

/**
 * Single-use refresh tokens: refreshed ahead of expiry and on a 401, never spent twice, one refresh at a time.
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

let fake: OuraFake;
let dir: string;
let configDir: string;
let dbPath: string;
let store: Store | undefined;
const savedEnv = { ...process.env };

const seedUser = (options: Parameters<typeof seedOuraUser>[1]) => seedOuraUser(fake, options);

beforeEach(async () => {
  fake = await startOuraFake();
  fake.addUser({ id: 'u1', email: 'u1@example.com' });
  fake.addDocuments('u1', 'sleep', [{ id: 'sleep-1', day: '2026-03-02', type: 'long_sleep' }]);
  dir = tempDir();
  configDir = path.join(dir, 'config');
  dbPath = await testDatabase(dir);
  Object.assign(process.env, fake.env(), { WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbPath });
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function deps(): Promise<OuraDeps & { store: Store }> {
  store ??= await openTestStore(dbPath);
  // No real waiting between retries in these tests.
  return { store, settings: new Settings(), http: new HttpClient({ sleep: async () => undefined }) };
}
const userRow = (d: { store: Store }) => d.store.read(getUserOp, 'oura', 'u1');

describe('token refresh', () => {
  it('refreshes an expired access token once, saves the new pair, and never reuses the old refresh token', async () => {
    const seeded = await seedUser({ configDir, dbPath, userId: 'u1', label: 'P001', accessTokenExpired: true });
    const d = await deps();
    const doc = await fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1');
    expect(doc).toMatchObject({ id: 'sleep-1' });

    const stored = storedOuraTokens(configDir, 'u1')!;
    expect(stored.refresh_token).not.toBe(seeded.refresh_token);
    expect(fake.isAccessTokenValid(stored.access_token)).toBe(true);
    expect(fake.refreshTokensPresented).toEqual([seeded.refresh_token]);
    expect((await userRow(d))!.token_expires_at).toBe(stored.expires_at);

    // Later calls use the saved pair; the spent refresh token is never presented again.
    await fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1');
    fake.expireAccessTokens('u1');
    await fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1');
    expect(fake.reusedRefreshTokens()).toEqual([]);
    expect(fake.refreshTokensPresented).toEqual([seeded.refresh_token, stored.refresh_token]);
  });

  it('refreshes on a 401 even when the token looked valid, then retries the request', async () => {
    await seedUser({ configDir, dbPath, userId: 'u1' });
    fake.expireAccessTokens('u1');
    expect(await fetchOuraDocument(await deps(), 'u1', 'sleep', 'sleep-1')).toMatchObject({ id: 'sleep-1' });
    expect(fake.refreshTokensPresented).toHaveLength(1);
  });

  it('shares one refresh between parallel requests of one process', async () => {
    await seedUser({ configDir, dbPath, userId: 'u1', accessTokenExpired: true });
    const d = await deps();
    const docs = await Promise.all(Array.from({ length: 5 }, () => fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1')));
    expect(docs.every((x) => (x as { id: string }).id === 'sleep-1')).toBe(true);
    expect(fake.refreshTokensPresented).toHaveLength(1);
  });

  it('does not repeat a refresh whose answer was lost, and does not give up on the user for it', async () => {
    const seeded = await seedUser({ configDir, dbPath, userId: 'u1', accessTokenExpired: true });
    fake.fail({ path: '/oauth/token', status: 503 });
    const d = await deps();
    await expect(fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1')).rejects.toThrow(/token endpoint answered HTTP 503/);
    expect(fake.requestsTo('/oauth/token')).toHaveLength(1);
    expect((await userRow(d))!.needs_reauth).toBe(0);
    expect(storedOuraTokens(configDir, 'u1')!.refresh_token).toBe(seeded.refresh_token);
  });

  it('marks the user as needing `auth oura` again when the refresh token is refused for good', async () => {
    const seeded = await seedUser({ configDir, dbPath, userId: 'u1', label: 'P001', accessTokenExpired: true });
    // Spend the refresh token behind wearhook's back (as a lost answer would).
    await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: seeded.refresh_token, client_id: fake.clientId, client_secret: fake.clientSecret }),
    });
    const d = await deps();
    const failure = fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1');
    await expect(failure).rejects.toThrow(OuraReauthRequiredError);
    await expect(fetchOuraDocument(d, 'u1', 'sleep', 'sleep-1')).rejects.toThrow('run `wearhook auth oura --label P001` again');
    const user = (await userRow(d))!;
    expect(user.needs_reauth).toBe(1);
    expect(user.last_error).toContain('invalid_grant');

    const list = await runCli(['auth', 'list', '--json'], { env: { ...fake.env(), WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbPath } });
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ user_id: 'u1', status: 'needs_reauth' });
  });

  it('answers null for a document Oura does not know (404)', async () => {
    await seedUser({ configDir, dbPath, userId: 'u1' });
    expect(await fetchOuraDocument(await deps(), 'u1', 'sleep', 'no-such-document')).toBeNull();
  });
});

describe('two wearhook processes refreshing at once', () => {
  it('spend the refresh token once and both end with working tokens', async () => {
    fake.addDocuments('u1', 'daily_sleep', [{ id: 'ds-1', day: '2026-03-02', score: 80 }]);
    const seeded = await seedUser({ configDir, dbPath, userId: 'u1', accessTokenExpired: true });
    // A slow token endpoint: without the lock, the second process would refresh while the first waits.
    fake.refreshDelayMs = 1500;
    const env = { ...fake.env(), WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbPath };
    const args = ['sync', '--from', '2026-03-01', '--to', '2026-03-03', '--json'];
    const [a, b] = await Promise.all([runCli(args, { env }), runCli(args, { env })]);

    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    // Exactly one refresh happened: the other process waited for the lock and used its result.
    expect(fake.refreshTokensPresented).toEqual([seeded.refresh_token]);
    expect(fake.reusedRefreshTokens()).toEqual([]);
    const stored = storedOuraTokens(configDir, 'u1')!;
    expect(fake.isAccessTokenValid(stored.access_token)).toBe(true);
    // Every data call of both processes carried a working token (none answered 401).
    expect(fake.requestsTo('/v2/usercollection').filter((r) => r.status === 401)).toEqual([]);

    // And the stored refresh token still works for the next refresh.
    fake.expireAccessTokens('u1');
    const again = await runCli(args, { env });
    expect(again.code).toBe(0);
    expect(fake.reusedRefreshTokens()).toEqual([]);
  });
});
