import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { runCli, tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake, type OuraFake } from '../helpers/oura-fake.js';
import { seedOuraUser, storedOuraTokens } from '../helpers/oura-user.js';
import { ouraSleepDocument as sleepDoc } from '../fixtures/documents.js';
import { openStore } from '../../src/store/open.js';
import { storeLocation } from '../../src/store/location.js';
import { all } from '../../src/store/sql.js';
import { adminQuery, newPostgresDatabase } from '../helpers/postgres.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, startFakeOuraSubs } from '../helpers/oura-subs-fake.js';
import { hashVerificationToken } from '../../src/store/subscriptions.js';
import { CredentialStore } from '../../src/credentials/token-store.js';
import { Settings } from '../../src/config/settings.js';
import { HttpClient } from '../../src/net/http-client.js';
import { OuraUserSession } from '../../src/providers/oura/session.js';
import { getUserOp } from '../../src/store/users.js';

/** Oura on PostgreSQL: fetches by several receivers at one shared pace, `sync`, `auth list|logout`. */

let fake: OuraFake;
let dir: string;
let configDir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeEach(async () => {
  fake = await startOuraFake({ pageSize: 2 });
  dir = tempDir();
  configDir = path.join(dir, 'config');
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function listen(env: Record<string, string>, args: string[]): Promise<ListenProcess> {
  const l = await startListen(env, args);
  cleanups.push(() => l.stop('SIGKILL'));
  return l;
}

async function notify(url: string, fields: { data_type: string; object_id: string; user_id: string }): Promise<number> {
  const body = JSON.stringify({ event_type: 'create', event_time: '2026-03-02T07:45:00+00:00', ...fields });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', fake.clientSecret).update(timestamp + body).digest('hex').toUpperCase();
  const res = await request(`${url}/oura`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-oura-timestamp': timestamp, 'x-oura-signature': signature }, body });
  await res.body.dump();
  return res.statusCode;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];

describe('Oura on PostgreSQL', () => {
  it('two receivers fetch the notified documents at one pace they share, the expired token refreshed once', async () => {
    const url = await newPostgresDatabase();
    const tokens = await seedOuraUser(fake, { configDir, dbPath: url, userId: 'ou-1', accessTokenExpired: true });
    const documents = Array.from({ length: 12 }, (_, i) => ({ id: `dr-${String(i).padStart(2, '0')}`, day: DAYS[i % DAYS.length]!, score: 80 + i, contributors: {} }));
    fake.addDocuments('ou-1', 'daily_readiness', documents);
    const env = { ...fake.env(), WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: url };
    // 10 requests a second for both together, without bursts: one every 100 ms, whichever receiver sends it.
    const [a, b] = await Promise.all([listen(env, ['--oura-fetch-rate', '10']), listen(env, ['--oura-fetch-rate', '10'])]);
    const started = fake.requests.length;
    // The pace's next slot a second from now (on the system clock, which the database shares here).
    const firstSlot = Date.now() + 1_000;
    await adminQuery(`INSERT INTO paces (name, next_at) VALUES ('oura:fetch', $1)`, [firstSlot], url);
    const statuses = await Promise.all(documents.map((d, i) => notify((i % 2 === 0 ? a : b).url, { data_type: 'daily_readiness', object_id: d.id, user_id: 'ou-1' })));
    expect(statuses).toEqual(documents.map(() => 200));

    const processed = async () => Number((await adminQuery<{ n: string }>("SELECT count(*) AS n FROM deliveries WHERE status = 'processed'", [], url))[0]!.n);
    await until(async () => (await processed()) === documents.length, 'every delivery fetched');
    const stored = await adminQuery<{ id: string; user_id: string; day: string; source: string }>('SELECT id, user_id, day, source FROM documents ORDER BY id', [], url);
    expect(stored).toEqual(documents.map(({ id, day }) => ({ id, user_id: 'ou-1', day, source: 'webhook' })));
    // Both receivers fetched (the work went where it arrived), so the pace was shared, not merely one process's.
    const byProcess = new Set([...a.lines(), ...b.lines()].filter((l) => l.type === 'work' && l.status === 'processed').map((l) => (a.lines().includes(l) ? 'a' : 'b')));
    expect(byProcess).toEqual(new Set(['a', 'b']));

    // One refresh for both processes: the refresh token was spent once and the new pair works.
    expect(fake.refreshTokensPresented).toEqual([tokens.refresh_token]);
    expect(fake.requestsTo('/oauth/token').map((r) => r.status)).toEqual([200]);
    const after = storedOuraTokens(configDir, 'ou-1')!;
    expect(after.refresh_token).not.toBe(tokens.refresh_token);
    expect((await adminQuery<{ needs_reauth: number; token_expires_at: string }>('SELECT needs_reauth, token_expires_at FROM users', [], url))[0]).toEqual({
      needs_reauth: 0,
      token_expires_at: after.expires_at,
    });

    // Every request to Oura (the refresh and the fetches), from either process, took the next
    // slot of the one pace: the k-th is k * 100 ms after the first. A request may go late (a busy
    // machine) but never before its slot, so the k-th to arrive is never before the k-th slot.
    // (A pace of each process's own would let both processes' requests arrive in pairs.)
    const times = fake.requests.slice(started).map((r) => r.at).sort((x, y) => x - y);
    expect(times.length).toBe(documents.length + 1);
    const early = times.map((t, k) => ({ k, before_slot_ms: firstSlot + k * 100 - t })).filter(({ before_slot_ms }) => before_slot_ms > 2);
    expect(early).toEqual([]);
  });

  it('a refresh is serialised across machines: one with a credential file of its own waits, then neither spends the spent token nor stops the user', async () => {
    const url = await newPostgresDatabase();
    // Two machines: each its own connection pool and configuration folder, holding the same pair.
    const [dirA, dirB] = [path.join(configDir, 'a'), path.join(configDir, 'b')];
    const tokens = await seedOuraUser(fake, { configDir: dirA, dbPath: url, userId: 'ou-1', accessTokenExpired: true });
    fs.mkdirSync(dirB, { recursive: true });
    fs.copyFileSync(path.join(dirA, 'credentials.json'), path.join(dirB, 'credentials.json'));
    fake.refreshDelayMs = 300;
    const saved = { ...process.env };
    Object.assign(process.env, fake.env());
    try {
      const machine = async (dir: string) => {
        process.env.WEARHOOK_CONFIG_DIR = dir;
        const credentials = new CredentialStore();
        expect(credentials.get('oura', 'ou-1')?.refresh_token).toBe(tokens.refresh_token); // opens this machine's file now
        const store = await openStore(storeLocation(url));
        cleanups.push(() => store.close());
        const user = (await store.read(getUserOp, 'oura', 'ou-1'))!;
        return new OuraUserSession({ store, settings: new Settings(), http: new HttpClient({ sleep: async () => undefined }), credentials }, user);
      };
      const [a, b] = [await machine(dirA), await machine(dirB)];
      const outcomes = await Promise.allSettled([a.token(), b.token()]);
      // One refreshed; the other waited for it, saw it in the database and said why it cannot go on.
      expect(fake.refreshTokensPresented).toEqual([tokens.refresh_token]);
      const won = outcomes.find((o) => o.status === 'fulfilled');
      expect(won && fake.isAccessTokenValid(won.value)).toBe(true);
      const lost = outcomes.find((o) => o.status === 'rejected');
      expect(String(lost?.reason)).toMatch(/older than those another wearhook on this database refreshed.*WEARHOOK_CONFIG_DIR/);
      expect(await adminQuery('SELECT needs_reauth, last_error FROM users', [], url)).toEqual([{ needs_reauth: 0, last_error: null }]);
    } finally {
      process.env = saved;
    }
  });

  it('sync stores the same rows as on SQLite; auth list and logout work on PostgreSQL', async () => {
    const url = await newPostgresDatabase();
    const file = path.join(dir, 'wearhook.db');
    for (const db of [file, url]) await seedOuraUser(fake, { configDir: path.join(configDir, db === file ? 'sqlite' : 'pg'), dbPath: db, userId: 'u1' });
    fake.addDocuments('u1', 'sleep', DAYS.map((day, i) => sleepDoc(`sleep-${i}`, day)));
    fake.addDocuments('u1', 'daily_readiness', DAYS.map((day, i) => ({ id: `dr-${i}`, day, score: 80 + i, contributors: {} })));
    fake.users.get('u1')!.heartrate.push(
      { timestamp: '2026-03-02T01:00:00+00:00', bpm: 55, source: 'sleep' },
      { timestamp: '2026-03-02T13:00:00+00:00', bpm: 80, source: 'awake' },
    );
    const args = ['sync', '--from', '2026-03-02', '--to', '2026-03-04', '--type', 'sleep,daily_readiness,heartrate', '--json'];
    const envOf = (db: string) => ({ ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(configDir, db === file ? 'sqlite' : 'pg'), WEARHOOK_DB: db });
    const [onFile, onPostgres] = [await runCli(args, { env: envOf(file) }), await runCli(args, { env: envOf(url) })];
    expect(onPostgres.code, onPostgres.stderr).toBe(0);
    expect(onFile.code, onFile.stderr).toBe(0);
    const withoutRun = (s: string) => JSON.parse(s, (key, value: unknown) => (key === 'run_id' ? undefined : value));
    expect(withoutRun(onPostgres.stdout)).toEqual(withoutRun(onFile.stdout));
    expect(withoutRun(onPostgres.stdout).totals.sleep).toEqual({ new: 3, updated: 0, unchanged: 0, older: 0, superseded: 0 });

    const queries = [
      'SELECT provider, type, id, user_id, day, start_time, end_time, data, version, source, deleted, superseded_by_run FROM documents ORDER BY type, id',
      'SELECT type, id, content_sha256, source, sync_run_id, order_rank, arrived_older FROM document_versions ORDER BY type, id, seq',
      'SELECT provider, user_id, series_type, epoch_ms, timestamp, day, value, unit, source, context, sleep_id FROM samples ORDER BY epoch_ms',
      'SELECT provider, kind, user_id, types, range_from, range_to, status, error FROM sync_runs ORDER BY id',
      'SELECT run_id, type, listed, new, updated, unchanged, older, superseded, complete, error FROM sync_run_types ORDER BY run_id, type',
    ];
    // Read through wearhook's own stores: both give bigints as numbers.
    const [sqlite, postgres] = [await openStore(storeLocation(file)), await openStore(storeLocation(url))];
    try {
      for (const q of queries) expect(await postgres.read(all, q), q).toEqual(await sqlite.read(all, q));
    } finally {
      await sqlite.close();
      await postgres.close();
    }

    // A document Oura no longer lists is superseded on PostgreSQL as on SQLite.
    fake.users.get('u1')!.documents.set('sleep', fake.users.get('u1')!.documents.get('sleep')!.filter((d) => d.id !== 'sleep-2'));
    const again = await runCli([...args.slice(0, -3), '--type', 'sleep', '--json'], { env: envOf(url) });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).totals.sleep).toEqual({ new: 0, updated: 0, unchanged: 2, older: 0, superseded: 1 });

    const listed = await runCli(['auth', 'list', '--json'], { env: envOf(url) });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ provider: 'oura', user_id: 'u1', status: 'ok', scopes: expect.arrayContaining(['daily']) }]);
    const out = await runCli(['auth', 'logout', '--user', 'u1', '--json'], { env: envOf(url) });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([{ provider: 'oura', user_id: 'u1', label: null, revoked: true, warning: null }]);
    expect(await adminQuery('SELECT user_id FROM users', [], url)).toEqual([]);
    // The data stays.
    expect(await adminQuery("SELECT count(*)::int AS n FROM documents WHERE type = 'sleep'", [], url)).toEqual([{ n: 3 }]);
  });

  it('subs on PostgreSQL: the challenge of a new subscription is answered by a listen on the same database; renew and delete follow Oura', async () => {
    const url = await newPostgresDatabase();
    const subs = await startFakeOuraSubs();
    cleanups.push(() => subs.close());
    const env = { WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: url, OURA_CLIENT_ID: FAKE_CLIENT_ID, OURA_CLIENT_SECRET: FAKE_CLIENT_SECRET, WEARHOOK_OURA_API_URL: subs.url };
    const l = await listen(env, []);
    const created = await runCli(['subs', 'create', '--callback-url', `${l.url}/oura`, '--data-type', 'sleep', '--event-type', 'create,update', '--json'], { env });
    expect(created.code, created.stderr).toBe(0);
    const outcomes = JSON.parse(created.stdout) as { status: string; id: string }[];
    expect(outcomes.map((o) => o.status)).toEqual(['created', 'created']);
    // Oura's challenges reached the receiver, which knew each token by its hash in PostgreSQL.
    expect(subs.challenges.map((c) => c.passed)).toEqual([true, true]);
    const rows = await adminQuery<{ id: string; h: string; created_by_wearhook: number }>('SELECT id, verification_token_sha256 AS h, created_by_wearhook FROM subscriptions ORDER BY id', [], url);
    expect(rows).toEqual(outcomes.map((o) => ({ id: o.id, h: hashVerificationToken(subs.tokens.get(o.id)!), created_by_wearhook: 1 })).sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(await adminQuery('SELECT count(*)::int AS n FROM pending_verification_tokens', [], url)).toEqual([{ n: 0 }]);

    // Made elsewhere: the list behind renew mirrors it into the database; renew and delete keep the database in step.
    const other = subs.add({ callback_url: 'https://elsewhere.example/oura', event_type: 'delete', data_type: 'sleep', inMs: 3 * 86_400_000 });
    const renewed = await runCli(['subs', 'renew', '--expiring-within', '7d', '--json'], { env });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect((JSON.parse(renewed.stdout) as { id: string; status: string }[]).map((o) => [o.id, o.status])).toEqual([[other.id, 'renewed']]);
    const [stored] = await adminQuery<{ expiration_time: string; created_by_wearhook: number }>('SELECT expiration_time, created_by_wearhook FROM subscriptions WHERE id = $1', [other.id], url);
    expect(stored!.created_by_wearhook).toBe(0);
    expect(Date.parse(stored!.expiration_time)).toBeGreaterThan(Date.now() + 80 * 86_400_000);
    const deleted = await runCli(['subs', 'delete', '--all', '--yes', '--json'], { env });
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(subs.subscriptions.size).toBe(0);
    expect(await adminQuery('SELECT id FROM subscriptions', [], url)).toEqual([]);
  });

  it('listen --reconcile on two receivers: passes one at a time under the lease, what no notification brought stored once', async () => {
    const url = await newPostgresDatabase();
    await seedOuraUser(fake, { configDir, dbPath: url, userId: 'ou-1' });
    const today = new Date().toISOString().slice(0, 10);
    fake.addDocuments('ou-1', 'daily_readiness', [{ id: 'dr-today', day: today, score: 81, contributors: {} }]);
    const env = { ...fake.env(), WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: url };
    const args = ['--reconcile', '--data-type', 'daily_readiness', '--reconcile-interval', '1h'];
    const [a, b] = await Promise.all([listen(env, args), listen(env, args)]);
    // Each process either ran the start pass or found it served (skipped) by the other.
    const outcome = (l: ListenProcess) =>
      l.waitForLine((x) => x.type === 'reconcile-pass' && (x.state === 'done' || x.state === 'skipped'), 'the start pass done or skipped', 60_000);
    const states = (await Promise.all([outcome(a), outcome(b)])).map((x) => x.state);
    expect(states).toContain('done');
    const passes = await adminQuery<{ started_at: string; finished_at: string; status: string; new: number }>(
      'SELECT started_at, finished_at, status, new FROM reconcile_passes ORDER BY started_at',
      [],
      url,
    );
    expect(passes.length).toBe(states.filter((x) => x === 'done').length);
    for (let i = 1; i < passes.length; i++) expect(passes[i]!.started_at >= passes[i - 1]!.finished_at).toBe(true);
    expect(passes[0]).toMatchObject({ status: 'done', new: 1 });
    expect(await adminQuery("SELECT id, source FROM document_versions", [], url)).toEqual([{ id: 'dr-today', source: 'sync' }]);
    expect(await adminQuery("SELECT kind, status FROM sync_runs ORDER BY id", [], url)).toEqual(passes.map(() => ({ kind: 'catch-up', status: 'ok' })));
    expect(await adminQuery('SELECT count(*)::int AS n FROM leases', [], url)).toEqual([{ n: 0 }]);
  });
});
