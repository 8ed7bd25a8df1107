import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake, type OuraFake } from '../helpers/oura-fake.js';
import { seedOuraUser, storedOuraTokens } from '../helpers/oura-user.js';
import { integrityCheck, post, storedRows, waitFor } from './deliveries.js';
import { ouraHeaders } from '../helpers/signing.js';
import { record } from './report.js';

/**
 * Two `wearhook sync` processes at once on the same database and credential file, round
 * after round, while `wearhook listen` fetches notified documents for the same users: every
 * round starts with every access token dead at Oura, so all three processes need a refresh
 * at the same moment, and Oura's single-use refresh tokens punish any refresh done twice.
 * Oura also rate-limits in the middle of paging. Both syncs must succeed, no refresh token
 * may be presented twice, and every document must be stored once, in its latest version.
 */

const USERS = ['sync-u1', 'sync-u2', 'sync-u3'];
const TYPES = ['sleep', 'daily_sleep', 'daily_readiness', 'daily_activity'];
const DAYS = 40;
const ROUNDS = 6;

let fake: OuraFake | undefined;
let listener: ListenProcess | undefined;
let dir: string | undefined;
afterAll(async () => {
  await listener?.stop('SIGKILL');
  await fake?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function day(i: number): string {
  return new Date(Date.UTC(2026, 0, 1 + i)).toISOString().slice(0, 10);
}

function documentsOf(user: string, type: string, version: number) {
  return Array.from({ length: DAYS }, (_, i) => {
    const id = `${type}-${user}-${i}`;
    if (type === 'sleep') {
      return { id, day: day(i), type: 'long_sleep', bedtime_start: `${day(i)}T00:10:00+01:00`, bedtime_end: `${day(i)}T07:40:00+01:00`, total_sleep_duration: 25_000 + version, average_hrv: 40 };
    }
    return { id, day: day(i), score: 60 + version, contributors: {} };
  });
}

describe('two syncs at once', () => {
  it('both succeed, no refresh token is spent twice, and every document is stored once', async () => {
    fake = await startOuraFake({ pageSize: 5 });
    dir = tempDir('wearhook-sync-');
    const env = { ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: path.join(dir, 'wearhook.db') };
    for (const user of USERS) {
      await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR, dbPath: env.WEARHOOK_DB, userId: user, accessTokenExpired: true });
    }
    // A slow token endpoint widens the window in which two refreshes could overlap.
    fake.refreshDelayMs = 300;
    listener = await startListen(env);
    const args = ['sync', '--from', day(0), '--to', day(DAYS - 1), '--json'];
    const counts = { rounds: 0, sync_processes: 0, notifications: 0, injected_429: 0, answered_401: 0 };

    for (let round = 0; round < ROUNDS; round++) {
      // New versions of every document, and every access token dead at Oura.
      for (const user of USERS) for (const type of TYPES) fake.addDocuments(user, type, documentsOf(user, type, round));
      fake.expireAccessTokens();
      fake.fail({ path: /^\/v2\/usercollection\/daily_sleep$/, status: 429, headers: { 'retry-after': '1' }, times: 2, after: 3 });
      counts.injected_429 += 2;

      const notify = Promise.all(
        USERS.map(async (user, i) => {
          const body = JSON.stringify({ event_type: 'update', data_type: 'sleep', object_id: `sleep-${user}-${round + i}`, event_time: `2026-03-0${round + 1}T07:45:00+00:00`, user_id: user });
          const outcome = await post(listener!.url, { key: body, route: '/oura', body, headers: () => ouraHeaders(fake!.clientSecret, body) });
          expect(outcome.status).toBe(200);
          counts.notifications++;
        }),
      );
      const [a, b] = await Promise.all([runCli(args, { env }), runCli(args, { env }), notify]);
      counts.sync_processes += 2;
      counts.rounds++;
      expect([a.code, b.code], `round ${round}:\n${a.stderr}\n${b.stderr}`).toEqual([0, 0]);
      // Each process stored or found every document of the round.
      for (const out of [a, b]) {
        const summary = JSON.parse(out.stdout) as { totals: Record<string, { new: number; updated: number; unchanged: number }> };
        for (const type of TYPES) {
          const t = summary.totals[type]!;
          expect(t.new + t.updated + t.unchanged, `${type} in round ${round}`).toBe(USERS.length * DAYS);
        }
      }
      expect(fake.reusedRefreshTokens()).toEqual([]);
      // The receiver fetched the notified documents with the same users' tokens meanwhile.
      await waitFor(() => storedRows(env.WEARHOOK_DB).every((r) => r.status === 'processed'), `round ${round} fetches`);
    }
    counts.answered_401 = fake.requests.filter((r) => r.status === 401).length;
    expect(await listener.stop('SIGTERM')).toBe(0);
    listener = undefined;

    // Stored once, in the latest version.
    const db = openDatabase(env.WEARHOOK_DB, { readonly: true });
    const rows = db.prepare("SELECT type, COUNT(*) AS n, COUNT(DISTINCT id) AS ids FROM documents WHERE provider = 'oura' GROUP BY type ORDER BY type").all();
    db.close();
    expect(rows).toEqual(TYPES.map((type) => ({ type, n: USERS.length * DAYS, ids: USERS.length * DAYS })).sort((x, y) => x.type.localeCompare(y.type)));
    const out = await runCli(['export', '--from', day(0), '--to', day(DAYS - 1), '--type', 'sleep'], { env });
    const sleep = parse(out.stdout, { columns: true }) as Record<string, string>[];
    expect(sleep).toHaveLength(USERS.length * DAYS);
    expect(new Set(sleep.map((r) => `${r.user_id} ${r.day}`)).size).toBe(USERS.length * DAYS);
    expect(sleep.every((r) => r.total_sleep_s === String(25_000 + ROUNDS - 1))).toBe(true);
    expect(integrityCheck(env.WEARHOOK_DB)).toBe('ok');

    // Every user ends with tokens that work, and a refresh token that was never spent.
    for (const user of USERS) expect(fake.isAccessTokenValid(storedOuraTokens(env.WEARHOOK_CONFIG_DIR, user)!.access_token)).toBe(true);
    fake.expireAccessTokens();
    expect((await runCli(args, { env })).code).toBe(0);
    expect(fake.reusedRefreshTokens()).toEqual([]);

    record('concurrent_sync', {
      rounds: counts.rounds,
      sync_processes: counts.sync_processes + 1,
      listen_notifications: counts.notifications,
      users: USERS.length,
      documents: USERS.length * TYPES.length * DAYS,
      refresh_tokens_presented: fake.refreshTokensPresented.length,
      refresh_tokens_presented_twice: fake.reusedRefreshTokens().length,
      injected_429: counts.injected_429,
      requests_answered_401_then_refreshed: counts.answered_401,
      oura_requests: fake.requests.length,
    }, { deliveries: counts.notifications });
  });
});
