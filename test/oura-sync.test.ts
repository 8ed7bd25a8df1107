import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { ouraSleepDocument as sleepDoc } from './fixtures/documents.js';
import { onPostgres, queryRows, testDatabase } from './helpers/engine.js';
import { seedOuraUser } from './helpers/oura-user.js';

/**
 * `wearhook sync` against the Oura fake: paging, rate limits, server errors, refusals, idempotence.
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES); the PostgreSQL pass, kept lean,
 * covers what the store decides (new/unchanged counts, versions, needs_reauth, superseding) and leaves
 * to SQLite's pass the answers of Oura that end before the store (403s, usage errors, a cut listing)
 * and what repeats those store paths (an update then an export; heart-rate samples, which the
 * receiver's tests store on PostgreSQL).
 */
const storeSide = it;
/** Once, on SQLite. */
const wireSide = it.skipIf(onPostgres);

let fake: OuraFake;
let dir: string;
let env: Record<string, string>;


const seedUser = (options: Parameters<typeof seedOuraUser>[1]) => seedOuraUser(fake, options);

const DAYS = ['2026-02-28', '2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05', '2026-03-06'];

beforeEach(async () => {
  fake = await startOuraFake({ pageSize: 2 });
  dir = tempDir();
  env = { ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: await testDatabase(dir) };
  await seedUser({ configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'u1', label: 'P001' });
  fake.addDocuments('u1', 'sleep', DAYS.map((day, i) => sleepDoc(`sleep-${i}`, day)));
  fake.addDocuments('u1', 'daily_sleep', DAYS.map((day, i) => ({ id: `ds-${i}`, day, score: 70 + i })));
  fake.addDocuments('u1', 'daily_readiness', DAYS.map((day, i) => ({ id: `dr-${i}`, day, score: 80 + i, contributors: {} })));
  fake.addDocuments('u1', 'daily_activity', DAYS.map((day, i) => ({ id: `da-${i}`, day, steps: 1000 * i, equivalent_walking_distance: 900 })));
});

afterEach(async () => {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const RANGE = ['--from', '2026-03-01', '--to', '2026-03-05'];

function documentRows(): Promise<{ type: string; id: string; updated_at: string }[]> {
  return queryRows(env.WEARHOOK_DB!, 'SELECT type, id, updated_at FROM documents ORDER BY type, id');
}

describe('wearhook sync', () => {
  storeSide('pages through every collection, through a 429 and a 503, and a second run changes nothing', async () => {
    // A rate limit on the second page of sleep, a server error on the first daily_sleep request.
    fake.fail({ path: '/v2/usercollection/sleep', status: 429, headers: { 'retry-after': '1' }, after: 1 });
    fake.fail({ path: '/v2/usercollection/daily_sleep', status: 503 });

    const first = await runCli(['sync', ...RANGE, '--json'], { env });
    expect(first.stderr).toBe('Oura: rate limited (429); retrying in 1.0 s\n');
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary.failed).toBe(0);
    // --from and --to are inclusive: 03-01 .. 03-05 is five days of each type; 02-28 and 03-06 are left out.
    for (const type of ['sleep', 'daily_sleep', 'daily_readiness', 'daily_activity']) {
      expect(summary.totals[type]).toEqual({ new: 5, updated: 0, unchanged: 0, older: 0, superseded: 0 });
    }
    const sleepRequests = fake.requestsTo('/v2/usercollection/sleep');
    expect(sleepRequests.map((r) => r.status)).toEqual([200, 429, 200, 200, 200]);
    expect(sleepRequests[2]!.query.next_token).toBe(sleepRequests[1]!.query.next_token);
    // Asked a day wider on each side (Oura's filters are not inclusive at both ends), kept to [from, to].
    expect(sleepRequests[0]!.query).toMatchObject({ start_date: '2026-02-28', end_date: '2026-03-06' });
    expect(fake.requestsTo('/v2/usercollection/daily_sleep').map((r) => r.status)[0]).toBe(503);

    const stored = await documentRows();
    expect(stored.filter((d) => d.type === 'sleep').map((d) => d.id)).toEqual(['sleep-1', 'sleep-2', 'sleep-3', 'sleep-4', 'sleep-5']);

    const second = await runCli(['sync', ...RANGE, '--json'], { env });
    expect(second.code).toBe(0);
    const again = JSON.parse(second.stdout);
    for (const type of ['sleep', 'daily_sleep', 'daily_readiness', 'daily_activity']) {
      expect(again.totals[type]).toEqual({ new: 0, updated: 0, unchanged: 5, older: 0, superseded: 0 });
    }
    expect(await documentRows()).toEqual(stored);
  });

  wireSide('stores a changed document as an update, and export shows the synced data', async () => {
    expect((await runCli(['sync', ...RANGE], { env })).code).toBe(0);
    fake.addDocuments('u1', 'sleep', [{ ...sleepDoc('sleep-2', '2026-03-02'), efficiency: 88 }]);
    const result = await runCli(['sync', ...RANGE, '--type', 'sleep'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('P001 (u1): ok');
    expect(result.stdout).toMatch(/sleep\s+0 new, 1 updated, 4 unchanged documents/);

    const exported = await runCli(['export', ...RANGE, '--type', 'sleep', '--format', 'json'], { env });
    expect(exported.code).toBe(0);
    const rows = JSON.parse(exported.stdout) as Record<string, unknown>[];
    expect(rows.map((r) => r.day)).toEqual(['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04', '2026-03-05']);
    expect(rows[1]).toMatchObject({ provider: 'oura', user_id: 'u1', label: 'P001', efficiency_pct: 88, total_sleep_s: 25_200, source_id: 'sleep-2' });

    const hrv = JSON.parse((await runCli(['export', ...RANGE, '--type', 'hrv', '--format', 'json'], { env })).stdout) as unknown[];
    expect(hrv).toHaveLength(10); // two non-null RMSSD items per night
    expect(rows[1]).toMatchObject({ source: 'sync', version: 2 });

  });

  storeSide('keeps both versions of an updated sleep, and history shows them with the fields that changed', async () => {
    expect((await runCli(['sync', ...RANGE, '--type', 'sleep'], { env })).code).toBe(0);
    fake.addDocuments('u1', 'sleep', [{ ...sleepDoc('sleep-2', '2026-03-02'), efficiency: 88 }]);
    expect((await runCli(['sync', ...RANGE, '--type', 'sleep'], { env })).code).toBe(0);
    const history = await runCli(['history', 'oura', 'sleep', 'sleep-2'], { env });
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/^oura sleep sleep-2 \(user u1, day 2026-03-02\): 2 versions, current: version 2\n/);
    expect(history.stdout).toMatch(/^version 1 {2}retrieved \S+ {2}by sync \(run #1\)\n/m);
    expect(history.stdout).toMatch(/^version 2 {2}retrieved \S+ {2}by sync \(run #2\) {2}current\n {2}efficiency: 93 -> 88\n/m);
    const json = JSON.parse((await runCli(['history', 'oura', 'sleep', 'sleep-2', '--json'], { env })).stdout);
    expect(json).toMatchObject({ provider: 'oura', type: 'sleep', id: 'sleep-2', state: 'current' });
    expect(json.versions.map((v: { version: number; current: boolean; source: string; changes: unknown[] }) => [v.version, v.current, v.source, v.changes])).toEqual([
      [1, false, 'sync', []],
      [2, true, 'sync', [{ field: 'efficiency', from: 93, to: 88 }]],
    ]);
    const unknown = await runCli(['history', 'oura', 'sleep', 'no-such-id'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: No oura sleep document no-such-id is stored/);
  });

  wireSide('reports a 403 with the scope it needs, keeps the other types, and exits 1', async () => {
    fake.fail({ path: '/v2/usercollection/heartrate', status: 403 });
    const result = await runCli(['sync', ...RANGE, '--type', 'daily_sleep,heartrate'], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/daily_sleep\s+5 new/);
    expect(result.stdout).toMatch(/heartrate\s+failed: Oura refused heartrate of user P001 \(u1\) \(403\)/);
    expect(result.stderr).toMatch(/^error: sync failed for 1 of 1 users\. P001: .*membership has lapsed, or the `heartrate` scope/m);
  });

  wireSide('names the missing scope when the user did not grant it', async () => {
    await seedUser({ configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'u2', label: 'P002', scope: 'personal daily' });
    fake.fail({ path: '/v2/usercollection/heartrate', status: 403 });
    const result = await runCli(['sync', ...RANGE, '--type', 'heartrate', '--label', 'P002'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the `heartrate` scope that heartrate needs was not granted; run `wearhook auth oura --label P002` again');
  });

  wireSide('stores heart rate as samples, idempotently', async () => {
    fake.addHeartRate('u1', [
      { timestamp: '2026-03-01T10:00:00+00:00', bpm: 61 },
      { timestamp: '2026-03-01T10:05:00+00:00', bpm: 63 },
      { timestamp: '2026-03-05T23:55:00+00:00', bpm: 58 },
      { timestamp: '2026-03-06T00:05:00+00:00', bpm: 70 },
    ]);
    const first = JSON.parse((await runCli(['sync', ...RANGE, '--type', 'heartrate', '--json'], { env })).stdout);
    expect(first.totals.heartrate).toEqual({ new: 3, updated: 0, unchanged: 0, older: 0, superseded: 0 });
    const second = JSON.parse((await runCli(['sync', ...RANGE, '--type', 'heartrate', '--json'], { env })).stdout);
    expect(second.totals.heartrate).toEqual({ new: 0, updated: 0, unchanged: 3, older: 0, superseded: 0 });
    const hr = fake.requestsTo('/v2/usercollection/heartrate')[0]!;
    expect(hr.query).toMatchObject({ start_datetime: '2026-03-01T00:00:00+00:00', end_datetime: '2026-03-05T23:59:59+00:00' });
  });

  storeSide('syncs every user by default and fails only the one whose grant is gone', async () => {
    const seeded = await seedUser({ configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'u2', label: 'P002', accessTokenExpired: true });
    fake.addDocuments('u2', 'daily_sleep', [{ id: 'u2-ds', day: '2026-03-03', score: 60 }]);
    // Spend u2's refresh token elsewhere: it can never be refreshed again.
    await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: seeded.refresh_token, client_id: fake.clientId, client_secret: fake.clientSecret }),
    });
    const result = await runCli(['sync', ...RANGE, '--type', 'daily_sleep', '--json'], { env });
    expect(result.code).toBe(1);
    const summary = JSON.parse(result.stdout);
    expect(summary.users.map((u: { label: string; ok: boolean }) => [u.label, u.ok])).toEqual([['P001', true], ['P002', false]]);
    expect(result.stderr).toContain('P002: Oura user P002 (u2) needs to authorize again');
    expect(result.stderr).toContain('run `wearhook auth oura --label P002` again');

    // The next run says the same without asking Oura again.
    const tokenCalls = fake.requestsTo('/oauth/token').length;
    const again = await runCli(['sync', ...RANGE, '--label', 'P002'], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('run `wearhook auth oura --label P002` again');
    expect(fake.requestsTo('/oauth/token')).toHaveLength(tokenCalls);
  });

  wireSide('refuses bad input with usage errors and unknown users with exit 1', async () => {
    const badType = await runCli(['sync', ...RANGE, '--type', 'sleeep'], { env });
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('Unknown data type sleeep');
    const backwards = await runCli(['sync', '--from', '2026-03-05', '--to', '2026-03-01'], { env });
    expect(backwards.code).toBe(2);
    const both = await runCli(['sync', ...RANGE, '--user', 'u1', '--label', 'P001'], { env });
    expect(both.code).toBe(2);
    const noSecret = await runCli(['sync', ...RANGE], { env: { ...env, OURA_CLIENT_SECRET: '' } });
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('export OURA_CLIENT_SECRET=');
    const unknown = await runCli(['sync', ...RANGE, '--label', 'nobody'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No Oura user has the label nobody');
  });
});

describe('a sync is authoritative for its range', () => {
  storeSide('a night Oura re-issued under a new id is exported once, with one set of HRV slots; the old one is kept as superseded', async () => {
    expect((await runCli(['sync', ...RANGE], { env })).code).toBe(0);
    // Oura re-analyses the night of 03-02: the same night under a new id, the old id gone.
    fake.removeDocuments('u1', 'sleep', ['sleep-2']);
    fake.addDocuments('u1', 'sleep', [{ ...sleepDoc('sleep-2-reanalysed', '2026-03-02'), efficiency: 91 }]);
    const second = await runCli(['sync', ...RANGE, '--type', 'sleep', '--json'], { env });
    expect(second.code).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.totals.sleep).toEqual({ new: 1, updated: 0, unchanged: 4, older: 0, superseded: 1 });

    const night = { from: '2026-03-02', to: '2026-03-02' };
    const sleep = JSON.parse((await runCli(['export', '--from', night.from, '--to', night.to, '--type', 'sleep', '--format', 'json'], { env })).stdout);
    expect(sleep.map((r: Record<string, unknown>) => [r.source_id, r.efficiency_pct])).toEqual([['sleep-2-reanalysed', 91]]);
    const hrv = JSON.parse((await runCli(['export', '--from', night.from, '--to', night.to, '--type', 'hrv', '--format', 'json'], { env })).stdout);
    expect(hrv.map((r: Record<string, unknown>) => r.source_id)).toEqual(['sleep-2-reanalysed', 'sleep-2-reanalysed']);

    const db = env.WEARHOOK_DB!;
    const run = summary.users[0].run_id as number;
    expect(await queryRows(db, "SELECT id, superseded_by_run FROM documents WHERE id = 'sleep-2'")).toEqual([{ id: 'sleep-2', superseded_by_run: run }]);
    expect(await queryRows(db, 'SELECT kind, user_id, types, range_from, range_to, status, CASE WHEN finished_at IS NOT NULL THEN 1 ELSE 0 END AS finished FROM sync_runs WHERE id = ?', [run])).toEqual([
      { kind: 'sync', user_id: 'u1', types: '["sleep"]', range_from: '2026-03-01', range_to: '2026-03-05', status: 'ok', finished: 1 },
    ]);
    expect(await queryRows(db, 'SELECT type, listed, new, unchanged, superseded, complete FROM sync_run_types WHERE run_id = ?', [run])).toEqual([
      { type: 'sleep', listed: 5, new: 1, unchanged: 4, superseded: 1, complete: 1 },
    ]);
  });

  wireSide('a listing cut short supersedes nothing', async () => {
    expect((await runCli(['sync', ...RANGE, '--type', 'sleep'], { env })).code).toBe(0);
    fake.removeDocuments('u1', 'sleep', ['sleep-1']);
    fake.fail({ path: '/v2/usercollection/sleep', status: 400, after: 1 });
    const cut = await runCli(['sync', ...RANGE, '--type', 'sleep', '--json'], { env });
    expect(cut.code).toBe(1);
    expect(JSON.parse(cut.stdout).totals.sleep.superseded).toBe(0);
    const rows = JSON.parse((await runCli(['export', ...RANGE, '--type', 'sleep', '--format', 'json'], { env })).stdout);
    expect(rows.map((r: Record<string, unknown>) => r.source_id)).toContain('sleep-1');
  });
});
