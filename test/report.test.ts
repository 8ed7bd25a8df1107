import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { storeDocument, upsertDocument } from '../src/store/documents.js';
import { finishSyncRun, startSyncRun } from '../src/store/sync-runs.js';
import { upsertSamples, type SampleInput } from '../src/store/samples.js';
import { upsertSubscription } from '../src/store/subscriptions.js';
import { addParticipant, linkParticipantAccount } from '../src/participants/core.js';
import { localToday } from '../src/report/core.js';
import { addDays } from '../src/util/days.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { runOnTerminal, shellQuote } from './helpers/terminal.js';
import { testDatabaseOf } from './helpers/engine.js';

/**
 * A seeded study: five participants over 30 days, with gaps, a token the participant revoked,
 * data outside an enrolment window and an Oura subscription about to expire. The report must
 * raise exactly the flags a researcher expects, on a terminal of 80 columns and in --json.
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES): the study is seeded into a
 * SQLite file, copied into PostgreSQL there, and the syncs and reports run on the copy.
 */

let oura: OuraFake;
let dir: string;
let env: Record<string, string>;
// The 30 days end two days ago, in this machine's zone (the report's "today" without a participant zone).
const TO = addDays(localToday(new Date(), null), -2);
const FROM = addDays(TO, -29);
const day = (i: number) => addDays(FROM, i - 1); // day(1) .. day(30)
const RANGE = ['--from', FROM, '--to', TO];

function ouraNight(id: string, d: string, hrvItems: (number | null)[]) {
  return {
    id,
    day: d,
    type: 'long_sleep',
    bedtime_start: `${addDays(d, -1)}T23:30:00+01:00`,
    bedtime_end: `${d}T07:00:00+01:00`,
    total_sleep_duration: 25_000,
    hrv: { interval: 300, items: hrvItems, timestamp: `${d}T01:00:00.000+01:00` },
  };
}

/** Sleep, readiness and activity on each of `days` (1-based), as an Oura user's store holds them after a sync. */
function ouraDocuments(userId: string, days: number[]) {
  return days.flatMap((i) => {
    const d = day(i);
    return [
      { type: 'sleep', doc: ouraNight(`${userId}-sleep-${i}`, d, [40, 42, null, 45, 47, 50, 51]) },
      { type: 'daily_readiness', doc: { id: `${userId}-ready-${i}`, day: d, score: 80 } },
      {
        type: 'daily_activity',
        doc: {
          id: `${userId}-act-${i}`,
          day: d,
          steps: 9000,
          high_activity_time: 600,
          medium_activity_time: 1800,
          low_activity_time: 10_800,
          sedentary_time: 36_000,
          resting_time: 30_000,
          non_wear_time: 7_200,
        },
      },
    ];
  });
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

beforeAll(async () => {
  oura = await startOuraFake();
  dir = tempDir('wearhook-report-');
  const seedFile = path.join(dir, 'wearhook.db');
  env = { ...oura.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config') };
  const seed = (userId: string) => seedOuraUser(oura, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: seedFile, userId });
  for (const id of ['ou-1', 'ou-2', 'ou-3', 'ou-4']) await seed(id);
  // P003's data comes the real way: a sync, before they revoke wearhook's access in the Oura app.
  for (const { type, doc } of ouraDocuments('ou-3', range(1, 25))) oura.addDocuments('ou-3', type, [doc]);

  const db = openDatabase(seedFile);
  try {
    const store = (userId: string, days: number[]) => {
      for (const { type, doc } of ouraDocuments(userId, days)) {
        upsertDocument(db, { provider: 'oura', type, id: doc.id, userId, day: doc.day, startTime: (doc as { bedtime_start?: string }).bedtime_start ?? null, data: doc });
      }
    };
    // P001: an Oura ring and a Vital watch, every day.
    addParticipant(db, 'P001', {});
    linkParticipantAccount(db, { label: 'P001', provider: 'oura', userId: 'ou-1' });
    linkParticipantAccount(db, { label: 'P001', provider: 'vital', userId: 'vi-1' });
    store('ou-1', range(1, 30));
    // The ring missed night 15; the watch did not: P001's day is still complete.
    db.prepare("DELETE FROM documents WHERE id = 'ou-1-sleep-15'").run();
    for (const i of range(1, 30)) {
      upsertDocument(db, { provider: 'vital', type: 'sleep', id: `vi-1-sleep-${i}`, userId: 'vi-1', day: day(i), data: { id: `vi-1-sleep-${i}`, calendar_date: day(i), total: 25_000 } });
    }
    // P002: nothing on days 10 to 12 (two days of it flagged), and on day 20 alone (not flagged); no readiness on day 5.
    addParticipant(db, 'P002', {});
    linkParticipantAccount(db, { label: 'P002', provider: 'oura', userId: 'ou-2' });
    store('ou-2', range(1, 30).filter((i) => ![10, 11, 12, 13, 14, 20].includes(i)));
    // Days 13 and 14 were never notified: a reconciliation pass of listen found them.
    const run = startSyncRun(db, { provider: 'oura', kind: 'reconcile', userId: 'ou-2', types: ['sleep', 'daily_readiness', 'daily_activity'], from: day(13), to: day(14) });
    for (const { type, doc } of ouraDocuments('ou-2', [13, 14])) {
      storeDocument(db, { provider: 'oura', type, id: doc.id, userId: 'ou-2', day: doc.day, data: doc }, { source: 'sync', retrievedAt: new Date(), syncRunId: run.id });
    }
    finishSyncRun(db, run.id, null);
    db.prepare("DELETE FROM documents WHERE id = 'ou-2-ready-5'").run();
    // P003: data until day 25 (synced below), then the participant revoked the grant.
    addParticipant(db, 'P003', {});
    linkParticipantAccount(db, { label: 'P003', provider: 'oura', userId: 'ou-3' });
    // P004: enrolled from day 5 to day 28, but the ring kept sending before and after.
    addParticipant(db, 'P004', { start: day(5), end: day(28) });
    linkParticipantAccount(db, { label: 'P004', provider: 'oura', userId: 'ou-4' });
    store('ou-4', range(1, 30));
    // P005: a Vital watch, Open Wearables HRV and a Corsano patch; no Oura account, so no Oura subscription concerns them.
    addParticipant(db, 'P005', { start: day(1) });
    linkParticipantAccount(db, { label: 'P005', provider: 'vital', userId: 'vi-5' });
    linkParticipantAccount(db, { label: 'P005', provider: 'open-wearables', userId: 'ow-5' });
    linkParticipantAccount(db, { label: 'P005', provider: 'corsano', userId: 'co-5' });
    const samples: SampleInput[] = [];
    for (const i of range(1, 30)) {
      const d = day(i);
      upsertDocument(db, { provider: 'vital', type: 'sleep', id: `vi-5-sleep-${i}`, userId: 'vi-5', day: d, data: { id: `vi-5-sleep-${i}`, calendar_date: d, total: 26_000 } });
      upsertDocument(db, { provider: 'vital', type: 'activity', id: `vi-5-act-${i}`, userId: 'vi-5', day: d, data: { id: `vi-5-act-${i}`, calendar_date: d, steps: 7000 } });
      // Twelve RMSSD values 5 minutes apart, and one that overlaps the last window: 62 minutes measured.
      for (let k = 0; k < 12; k++) {
        samples.push({ provider: 'open-wearables', userId: 'ow-5', seriesType: 'heart_rate_variability_rmssd', timestamp: `${d}T02:${String(k * 5).padStart(2, '0')}:00-05:00`, day: d, value: 40 + k, unit: 'ms' });
      }
      samples.push({ provider: 'open-wearables', userId: 'ow-5', seriesType: 'heart_rate_variability_rmssd', timestamp: `${d}T02:57:00-05:00`, day: d, value: 41, unit: 'ms' });
    }
    // Corsano: 90 minutes worn on day 30 (wearing = 4), ten minutes off.
    for (let m = 0; m < 100; m++) {
      const at = Date.parse(`${day(30)}T10:00:00Z`) + m * 60_000;
      samples.push({ provider: 'corsano', userId: 'co-5', seriesType: 'wearing', timestamp: new Date(at).toISOString(), day: day(30), value: m < 90 ? 4 : 0 });
    }
    upsertSamples(db, samples);
    // Oura subscriptions: one runs out in three days, the other in two months.
    const inDays = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString();
    upsertSubscription(db, { id: 'sub-sleep', callback_url: 'https://example.org/oura', event_type: 'create', data_type: 'sleep', expiration_time: inDays(3) });
    upsertSubscription(db, { id: 'sub-activity', callback_url: 'https://example.org/oura', event_type: 'create', data_type: 'daily_activity', expiration_time: inDays(60) });
  } finally {
    db.close();
  }
  env.WEARHOOK_DB = await testDatabaseOf(seedFile);

  const synced = await runCli(['sync', '--from', day(1), '--to', day(30), '--label', 'P003'], { env });
  expect(synced.code, synced.stderr).toBe(0);
  // The participant removes wearhook in the Oura app; the next sync finds out.
  const revoked = await fetch(`${oura.url}/oauth/revoke?access_token=${encodeURIComponent(oura.requests.find((r) => r.path.startsWith('/v2/'))!.authorization!.slice(7))}`, { method: 'POST' });
  expect(revoked.status).toBe(200);
  oura.expireAccessTokens('ou-3');
  const refused = await runCli(['sync', '--from', day(1), '--to', day(30), '--label', 'P003'], { env });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('needs to authorize again');
});

afterAll(async () => {
  await oura.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Every (participant, day) that carries a flag, and its flags. */
const EXPECTED_FLAGS: Record<string, string[]> = {
  [`P001 ${day(30)}`]: ['subscription_expiring'],
  [`P002 ${day(11)}`]: ['no_data_2d'],
  [`P002 ${day(12)}`]: ['no_data_2d'],
  [`P002 ${day(30)}`]: ['subscription_expiring'],
  [`P003 ${day(27)}`]: ['no_data_2d'],
  [`P003 ${day(28)}`]: ['no_data_2d'],
  [`P003 ${day(29)}`]: ['no_data_2d'],
  [`P003 ${day(30)}`]: ['no_data_2d', 'needs_reauth', 'subscription_expiring'],
  [`P004 ${day(1)}`]: ['outside_enrolment'],
  [`P004 ${day(2)}`]: ['outside_enrolment'],
  [`P004 ${day(3)}`]: ['outside_enrolment'],
  [`P004 ${day(4)}`]: ['outside_enrolment'],
  [`P004 ${day(29)}`]: ['outside_enrolment'],
  [`P004 ${day(30)}`]: ['subscription_expiring', 'outside_enrolment'],
};

describe('wearhook report on a seeded study', () => {
  it('--json: one row per participant and day, exactly the expected flags; --fail-on-flags exits 1', async () => {
    const res = await runCli(['report', ...RANGE, '--json', '--fail-on-flags'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('4 of 5 participants have flags: P001 (subscription_expiring); P002 (no_data_2d, subscription_expiring);');
    const rows = JSON.parse(res.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(150);
    expect(Object.keys(rows[0]!)).toEqual([
      ...['participant', 'day', 'sleep', 'readiness', 'activity', 'hrv_minutes', 'wear_s', 'last_delivery_at', 'last_sync_at', 'flags'],
      ...['documents_by_webhook', 'documents_by_reconciliation', 'documents_by_sync'],
    ]);
    const flagged = Object.fromEntries(rows.filter((r) => (r.flags as string[]).length > 0).map((r) => [`${r.participant} ${r.day}`, r.flags]));
    expect(flagged).toEqual(EXPECTED_FLAGS);

    const row = (label: string, i: number) => rows.find((r) => r.participant === label && r.day === day(i))!;
    // Six non-null 5-minute HRV values; worn = resting + sedentary + low + medium + high (24 h minus 2 h off).
    expect(row('P001', 3)).toMatchObject({ sleep: true, readiness: true, activity: true, hrv_minutes: 30, wear_s: 79_200, last_delivery_at: null, last_sync_at: null });
    // One participant across providers: Vital's sleep is P001's sleep, and no row is Vital's alone.
    expect(row('P001', 15)).toMatchObject({ sleep: true, readiness: true, activity: true, hrv_minutes: 0 });
    expect(new Set(rows.map((r) => r.participant))).toEqual(new Set(['P001', 'P002', 'P003', 'P004', 'P005']));
    expect(row('P002', 5)).toMatchObject({ sleep: true, readiness: false, activity: true });
    // How each day's documents arrived (issue #17): by webhook, only by reconciliation, only by sync.
    const arrivals = (label: string, i: number) => [row(label, i).documents_by_webhook, row(label, i).documents_by_reconciliation, row(label, i).documents_by_sync];
    expect([arrivals('P001', 15), arrivals('P002', 5), arrivals('P002', 13), arrivals('P002', 11), arrivals('P003', 25)]).toEqual([[3, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 0], [0, 0, 3]]);
    expect(row('P002', 11)).toMatchObject({ sleep: false, readiness: false, activity: false, hrv_minutes: 0, wear_s: null });
    expect(row('P003', 25)).toMatchObject({ sleep: true, hrv_minutes: 30, last_sync_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) });
    expect(row('P005', 7)).toMatchObject({ sleep: true, readiness: false, activity: true, hrv_minutes: 62, wear_s: null });
    expect(row('P005', 30)).toMatchObject({ wear_s: 5_400 });

    const quiet = await runCli(['report', ...RANGE, '--participant', 'P005', '--fail-on-flags', '--json'], { env });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(JSON.parse(quiet.stdout).every((r: { participant: string; flags: string[] }) => r.participant === 'P005' && r.flags.length === 0)).toBe(true);
  });

  it('on a terminal of 80 columns: a coloured strip per participant that fits, its flags, a legend', async () => {
    const command = `stty cols 80 rows 40; ${shellQuote(process.execPath)} ${shellQuote(BIN)} report ${RANGE.map(shellQuote).join(' ')}`;
    const { code, output } = await runOnTerminal(command, env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/\x1b\[3\dm/); // coloured on a terminal
    const plain = output.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '').split('\n');
    for (const line of plain) expect([...line].length, line).toBeLessThanOrEqual(80);
    const lineOf = (label: string) => plain.find((l) => l.startsWith(`${label} `))!;
    const strip = (label: string) => lineOf(label).slice(5, 5 + 27);
    // The longest flags (P003's) leave 27 cells: the last 27 of the 30 days.
    expect(plain[0]).toBe(`Completeness ${FROM} to ${TO} (the last 27 of 30 days fit this terminal)`);
    expect(plain[1]).toBe(`     ${day(4).slice(5)}${day(30).slice(5).padStart(27 - 5)}`);
    expect(lineOf('P001')).toBe(`P001 ${'█'.repeat(27)}  subscription_expiring`);
    // Day 4 is the first cell: P002's gap (10-12) and the lone missing day 20.
    expect(strip('P002')).toBe(`${'█'.repeat(1)}▒${'█'.repeat(4)}·!!${'█'.repeat(7)}·${'█'.repeat(10)}`);
    expect(lineOf('P002').slice(5 + 27)).toBe('  no_data_2d subscription_expiring');
    expect(lineOf('P003')).toBe(`P003 ${'█'.repeat(22)}·!!!!  no_data_2d needs_reauth subscription_expiring`);
    expect(strip('P004')).toBe(`░${'█'.repeat(24)}░░`);
    expect(lineOf('P004').slice(5 + 27)).toBe('  subscription_expiring outside_enrolment');
    expect(lineOf('P005')).toBe(`P005 ${'█'.repeat(27)}  ok`);
    expect(plain).toContain('█ all arrived  ▒ some  · nothing  ░ not enrolled  ! no_data_2d');
    // How the documents arrived, per participant: P002's 71 notified and 6 found by reconciliation alone.
    const arrivedAt = plain.indexOf('How the documents of these days arrived:');
    expect(plain.slice(arrivedAt + 1, arrivedAt + 6)).toEqual([
      'P001  119 by webhook',
      'P002  71 by webhook, 6 only by reconciliation (webhook share 92.2%)',
      'P003  75 only by sync',
      'P004  90 by webhook',
      'P005  60 by webhook',
    ]);
    // Why, once per reason, wrapped to the terminal.
    const unwrapped = plain.join('\n').replace(/\n {4}/g, ' ');
    expect(unwrapped).toMatch(/\nP003 needs_reauth: Oura user ou-3: Oura refused its refresh token: invalid_grant; send them `wearhook participants invite P003` or run `wearhook auth oura --label P003`\n/);
    expect(unwrapped).toMatch(/\nP001, P002, P003, P004 subscription_expiring: the Oura subscription sleep\.create expires \S+; renew with `wearhook subs renew --expiring-within 7d`/);
  });
});
