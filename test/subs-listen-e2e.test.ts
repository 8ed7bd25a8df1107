import { afterEach, describe, expect, it } from 'vitest';
import { hashVerificationToken } from '../src/store/subscriptions.js';
import { runCli, tempDir } from './helpers/cli.js';
import { queryRows, testDatabase } from './helpers/engine.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, startFakeOuraSubs, type FakeOuraSubs } from './helpers/oura-subs-fake.js';

// `subs create` against an Oura-like server that performs the GET challenge while create
// waits, answered by a real `wearhook listen` child process on the same database (SQLite or
// PostgreSQL: vitest.config.ts BOTH_ENGINES).
describe('subs create with a running wearhook listen', () => {
  let oura: FakeOuraSubs | undefined;
  let listen: ListenProcess | undefined;
  afterEach(async () => {
    await listen?.stop();
    await oura?.close();
    listen = undefined;
    oura = undefined;
  });

  function envFor(dbFile: string, configDir: string): Record<string, string> {
    return {
      WEARHOOK_CONFIG_DIR: configDir,
      WEARHOOK_DB: dbFile,
      OURA_CLIENT_ID: FAKE_CLIENT_ID,
      OURA_CLIENT_SECRET: FAKE_CLIENT_SECRET,
      WEARHOOK_OURA_API_URL: oura!.url,
    };
  }

  it('creates the subscription: listen answers the challenge with the token subs create stored', async () => {
    oura = await startFakeOuraSubs();
    const dir = tempDir('wearhook-subs-e2e-');
    const env = envFor(await testDatabase(dir), dir);
    listen = await startListen(env);

    const res = await runCli(['subs', 'create', '--callback-url', `${listen.url}/oura`, '--data-type', 'sleep,daily_readiness', '--event-type', 'create', '--json'], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const outcomes = JSON.parse(res.stdout) as Array<{ status: string; id: string; data_type: string }>;
    expect(outcomes.map((o) => [o.status, o.data_type])).toEqual([
      ['created', 'sleep'],
      ['created', 'daily_readiness'],
    ]);

    // Oura's challenges reached listen and were answered with the challenge echoed.
    expect(oura.challenges).toHaveLength(2);
    expect(oura.challenges.every((c) => c.passed && c.status === 200)).toBe(true);
    const answered = await listen.waitForLine((l) => l.type === 'challenge' && l.http_status === 200, 'an answered challenge');
    expect(answered).toMatchObject({ provider: 'oura' });

    // The tokens Oura presented are the ones create generated, known to listen only by their hash.
    for (const o of outcomes) {
      const token = oura.tokens.get(o.id)!;
      expect(oura.challenges.map((c) => c.token)).toContain(token);
      const rows = await queryRows(env.WEARHOOK_DB!, 'SELECT verification_token_sha256 AS h FROM subscriptions WHERE id = ?', [o.id]);
      expect(rows).toEqual([{ h: hashVerificationToken(token) }]);
    }
  });

  it('explains the failure when the listen there does not know the token (another database)', async () => {
    oura = await startFakeOuraSubs();
    const dir = tempDir('wearhook-subs-e2e-');
    listen = await startListen(envFor(await testDatabase(dir, undefined, 'listen.db'), dir));
    const env = envFor(await testDatabase(dir, undefined, 'subs.db'), dir);

    const res = await runCli(['subs', 'create', '--callback-url', `${listen.url}/oura`, '--data-type', 'sleep', '--event-type', 'create'], { env });
    expect(res.code).toBe(1);
    expect(oura.challenges).toEqual([expect.objectContaining({ status: 401, passed: false })]);
    await listen.waitForLine((l) => l.type === 'challenge' && l.http_status === 401, 'a refused challenge');
    expect(res.stderr).toContain(`Oura could not verify the callback URL ${listen.url}/oura`);
    expect(res.stderr).toMatch(/the receiver is not running/);
    expect(res.stderr).toMatch(/the URL is not public/);
    expect(res.stderr).toMatch(/the token differs: the receiver answering there uses another database/);
    expect(oura.subscriptions.size).toBe(0);
  });
});
