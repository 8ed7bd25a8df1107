import fs from 'node:fs';
import { Writable } from 'node:stream';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../src/store/db.js';
import { upsertDocument } from '../src/store/documents.js';
import { upsertSamples } from '../src/store/samples.js';
import { listUsers } from '../src/store/users.js';
import { participantZoneOp } from '../src/store/participants.js';
import { runExport } from '../src/export/export.js';
import { EXPORT_TYPES, type ExportType } from '../src/export/tables.js';
import { addParticipant, addParticipantOp, linkParticipantAccount, linkParticipantAccountOp, listParticipantViewsOp, setParticipantOp } from '../src/participants/core.js';
import type { Store } from '../src/store/store.js';
import { runCli, tempDir } from './helpers/cli.js';
import * as fx from './fixtures/documents.js';
import { onPostgres, runOp, testDatabase, withTestStore } from './helpers/engine.js';

/** Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES), but for the upgrade of an old SQLite file. */

let dir: string;
let db: string;
const cli = (args: string[]) => runCli(['--db', db, ...args], { env: { WEARHOOK_CONFIG_DIR: dir }, cwd: dir });
const json = async (args: string[]) => {
  const res = await cli(['--json', ...args]);
  expect(res.code, res.stderr).toBe(0);
  return JSON.parse(res.stdout);
};

beforeEach(async () => {
  dir = tempDir();
});

/** An Oura ring and a Vital-linked watch of one person, and an Open Wearables user of another. */
function seedTwoProviders(store: DB): void {
  for (const [type, doc] of [
    ['sleep', fx.ouraSleep],
    ['daily_readiness', fx.ouraReadiness],
    ['daily_activity', fx.ouraActivity],
  ] as const) {
    upsertDocument(store, { provider: 'oura', type, id: doc.id, userId: fx.OURA_USER, day: doc.day, startTime: (doc as { bedtime_start?: string }).bedtime_start ?? null, data: doc });
  }
  upsertDocument(store, { provider: 'vital', type: 'sleep', id: fx.vitalSleep.id, userId: fx.VITAL_USER, day: fx.vitalSleep.calendar_date, startTime: fx.vitalSleep.bedtime_start, data: fx.vitalSleep });
  upsertDocument(store, { provider: 'vital', type: 'activity', id: fx.vitalActivity.id, userId: fx.VITAL_USER, day: fx.vitalActivity.calendar_date, data: fx.vitalActivity });
  upsertDocument(store, { provider: 'open-wearables', type: 'sleep', id: fx.owSleep.id, userId: fx.OW_USER, day: '2026-03-02', startTime: fx.owSleep.start_time, data: fx.owSleep });
  upsertSamples(store, [
    { provider: 'open-wearables', userId: fx.OW_USER, seriesType: 'heart_rate_variability_rmssd', timestamp: '2026-03-02T02:00:00-05:00', day: '2026-03-02', value: 38.2, unit: 'ms', sourceId: 'batch-9' },
  ]);
}

/** One table as JSON, exported in process (the CLI's own export runs above). */
async function exportJson(type: ExportType, participants?: string[]): Promise<{ provider: string; label: string | null }[]> {
  const chunks: Buffer[] = [];
  const out = new Writable({ write: (chunk: Buffer, _enc, done) => (chunks.push(chunk), done()) });
  await withTestStore(db, (store) => runExport(store, { from: '2026-01-01', to: '2026-12-31', types: [type], format: 'json', participants, stdout: out }));
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function readTables(out: string): Record<string, { provider: string; user_id: string; label: string | null }[]> {
  return Object.fromEntries(EXPORT_TYPES.map((t) => [t, JSON.parse(fs.readFileSync(path.join(out, `${t}.json`), 'utf8'))]));
}
const labelsByProvider = (rows: { provider: string; label: string | null }[]) =>
  [...new Set(rows.map((r) => `${r.provider}=${r.label ?? ''}`))].sort();

describe('participants: one label across providers', () => {
  it('an Oura and a Vital account of one participant carry its label in every export table; renaming and removing follow', async () => {
    db = await testDatabase(dir, seedTwoProviders);
    const added = await json(['participants', 'add', 'P001', '--tz', 'europe/amsterdam', '--start', '2026-03-01', '--end', '2026-03-31']);
    expect(added).toMatchObject({ label: 'P001', tz: 'Europe/Amsterdam', start: '2026-03-01', end: '2026-03-31', accounts: [] });
    expect((await cli(['participants', 'link', 'P001', 'oura', fx.OURA_USER])).stdout).toContain(`Linked the oura account ${fx.OURA_USER} to P001.`);
    await runOp(db, linkParticipantAccountOp, { label: 'P001', provider: 'vital', userId: fx.VITAL_USER });
    await runOp(db, addParticipantOp, 'P002', {});
    await runOp(db, linkParticipantAccountOp, { label: 'P002', provider: 'open-wearables', userId: fx.OW_USER });

    const list = await json(['participants', 'list']);
    expect(list).toEqual([
      expect.objectContaining({
        label: 'P001',
        tz: 'Europe/Amsterdam',
        accounts: [
          expect.objectContaining({ provider: 'oura', user_id: fx.OURA_USER, authorization: 'not_authorized' }),
          expect.objectContaining({ provider: 'vital', user_id: fx.VITAL_USER, authorization: null }),
        ],
      }),
      expect.objectContaining({ label: 'P002', tz: null, start: null, end: null, accounts: [expect.objectContaining({ provider: 'open-wearables' })] }),
    ]);

    // The export asks for a user's zone: the participant's, for each of its accounts.
    const zones = () =>
      withTestStore(db, (store) =>
        Promise.all(([['oura', fx.OURA_USER], ['vital', fx.VITAL_USER], ['open-wearables', fx.OW_USER], ['oura', 'nobody']] as const).map(([provider, user]) => store.read(participantZoneOp, provider, user))),
      );
    expect(await zones()).toEqual(['Europe/Amsterdam', 'Europe/Amsterdam', null, null]);

    const out = path.join(dir, 'tables');
    const exported = await cli(['export', '--from', '2026-03-01', '--to', '2026-03-31', '--type', 'all', '--format', 'json', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    const tables = readTables(out);
    // Every row of every table carries its account's participant.
    const labelOf: Record<string, string> = { [`oura ${fx.OURA_USER}`]: 'P001', [`vital ${fx.VITAL_USER}`]: 'P001', [`open-wearables ${fx.OW_USER}`]: 'P002' };
    const filled = Object.entries(tables).filter(([, rows]) => rows.length > 0);
    expect(filled.length).toBeGreaterThan(4);
    for (const [table, rows] of filled) for (const r of rows) expect(r.label, `${table}: ${r.provider} ${r.user_id}`).toBe(labelOf[`${r.provider} ${r.user_id}`]);
    expect(labelsByProvider(tables.sleep!)).toEqual(['open-wearables=P002', 'oura=P001', 'vital=P001']);
    expect(labelsByProvider(tables.hrv!)).toEqual(['open-wearables=P002', 'oura=P001']);
    expect(labelsByProvider(tables.readiness!)).toEqual(['oura=P001']);
    expect(labelsByProvider(tables.activity!)).toEqual(['oura=P001', 'vital=P001']);

    // --participant: every account of the participants named, and nobody else.
    expect(labelsByProvider(await exportJson('sleep', ['P001']))).toEqual(['oura=P001', 'vital=P001']);
    expect(await exportJson('sleep', ['P002', 'P001'])).toHaveLength(3);

    // A new label applies to all of the participant's data; removing keeps the data, unlabelled.
    expect((await cli(['participants', 'set', 'P001', '--rename', 'P101', '--tz', 'none'])).stdout).toContain('Participant P101, enrolled 2026-03-01 to 2026-03-31.');
    expect(labelsByProvider(await exportJson('activity'))).toEqual(['oura=P101', 'vital=P101']);
    expect(await zones()).toEqual([null, null, null, null]);
    const removed = await cli(['participants', 'remove', 'P101']);
    expect(removed.stdout).toContain('stays in the store, unlabelled');
    expect(labelsByProvider(await exportJson('sleep'))).toEqual([
      'open-wearables=P002',
      'oura=',
      'vital=',
    ]);
  });

  it('a participant in Europe/Amsterdam: the night of 2026-10-25 in exact offsets, whatever offsets (or none) the providers wrote', async () => {
    // Written by providers that do not know the zone: Oura kept the summer offset at wake-up
    // (07:00+02:00 is 05:00Z) and wrote HRV times bare; Vital wrote UTC without timezone_offset;
    // Open Wearables UTC samples.
    const OURA = {
      ...fx.ouraSleep, id: 'ams-oura', day: '2026-10-25', type: 'long_sleep', bedtime_start: '2026-10-24T23:00:00+02:00', bedtime_end: '2026-10-25T07:00:00+02:00',
      hrv: { interval: 300, items: Array.from({ length: 97 }, (_, i) => 40 + (i % 9)), timestamp: '2026-10-24T23:00:00.000' },
    };
    const VITAL = { ...fx.vitalSleep, id: 'ams-vital', user_id: 'v-ams', calendar_date: '2026-10-25', bedtime_start: '2026-10-24T21:00:00+00:00', bedtime_stop: '2026-10-25T04:00:00+00:00', timezone_offset: undefined };
    db = await testDatabase(dir, (store) => {
      addParticipant(store, 'P010', { tz: 'Europe/Amsterdam' });
      for (const [provider, userId] of [['oura', 'u-ams'], ['vital', 'v-ams'], ['open-wearables', 'ow-ams']] as const) linkParticipantAccount(store, { label: 'P010', provider, userId });
      upsertDocument(store, { provider: 'oura', type: 'sleep', id: OURA.id, userId: 'u-ams', day: OURA.day, startTime: OURA.bedtime_start, data: OURA });
      upsertDocument(store, { provider: 'vital', type: 'sleep', id: VITAL.id, userId: 'v-ams', day: VITAL.calendar_date, startTime: VITAL.bedtime_start, data: VITAL });
      upsertSamples(store, ['2026-10-25T00:55:00Z', '2026-10-25T01:00:00Z'].map((timestamp, i) => ({ provider: 'open-wearables', userId: 'ow-ams', seriesType: 'heart_rate_variability_rmssd', timestamp, day: '2026-10-25', value: 30 + i, unit: 'ms', sourceId: 'ams-batch' })));
    });
    type Row = Record<string, unknown>;
    const sleep = (await exportJson('sleep')) as unknown as Row[];
    const hrv = (await exportJson('hrv')) as unknown as Row[];
    // Amsterdam leaves summer time at 01:00Z: 02:59:59+02:00 is followed by 02:00:00+01:00.
    expect(sleep.map((r) => [r.provider, r.label, r.bedtime_start, r.bedtime_end, r.bedtime_end_utc, r.utc_offset_min, r.time_uncertain])).toEqual([
      ['oura', 'P010', '2026-10-24T23:00:00+02:00', '2026-10-25T06:00:00+01:00', '2026-10-25T05:00:00Z', 120, false],
      ['vital', 'P010', '2026-10-24T23:00:00+02:00', '2026-10-25T05:00:00+01:00', '2026-10-25T04:00:00Z', 120, false],
    ]);
    const at = (provider: string, utc: string) => hrv.find((r) => r.provider === provider && r.timestamp_utc === utc);
    for (const provider of ['oura', 'open-wearables']) {
      expect(at(provider, '2026-10-25T00:55:00Z'), provider).toMatchObject({ timestamp: '2026-10-25T02:55:00+02:00', utc_offset_min: 120, label: 'P010' });
      expect(at(provider, '2026-10-25T01:00:00Z'), provider).toMatchObject({ timestamp: '2026-10-25T02:00:00+01:00', utc_offset_min: 60, label: 'P010' });
    }
    // Oura's bare HRV times are Amsterdam's wall clock: the night's first item is 21:00Z, its last wake-up.
    const oura = hrv.filter((r) => r.provider === 'oura');
    expect([oura[0]!.timestamp_utc, oura.at(-1)!.timestamp]).toEqual(['2026-10-24T21:00:00Z', '2026-10-25T06:00:00+01:00']);
  });

  it('refuses bad input with the exit code the contract gives it, changing nothing', async () => {
    db = await testDatabase(dir);
    expect((await cli(['participants', 'add', 'P001'])).code).toBe(0);
    // What the command line parses, through the CLI.
    const cases: [string[], number, RegExp][] = [
      [['participants', 'add', 'P001'], 1, /Participant P001 already exists; change it with `wearhook participants set P001/],
      [['participants', 'add', 'P 2'], 2, /"P 2" is not a usable label/],
      [['participants', 'add', 'P2', '--tz', '+01:00'], 2, /"\+01:00" is not an IANA time zone name/],
      [['participants', 'set', 'P001'], 2, /Nothing to change/],
    ];
    for (const [args, code, message] of cases) {
      const res = await cli(args);
      expect(res.code, args.join(' ')).toBe(code);
      expect(res.stderr).toMatch(message);
    }
    // The core's own checks, in process.
    await withTestStore(db, async (store: Store) => {
      const refused = async (attempt: () => Promise<unknown>, exitCode: number, message: RegExp) => {
        const err = await Promise.resolve().then(attempt).then(() => undefined, (e: unknown) => e);
        expect(String(err)).toMatch(message);
        expect((err as { exitCode?: number }).exitCode).toBe(exitCode);
      };
      await refused(() => store.run(addParticipantOp, 'P2', { start: '2026-04-01', end: '2026-03-01' }), 2, /starts \(2026-04-01\) after it ends \(2026-03-01\)/);
      await refused(() => store.run(setParticipantOp, 'P001', { end: '2025-01-01', start: '2025-02-01' }), 2, /after it ends/);
      await refused(() => store.run(linkParticipantAccountOp, { label: 'P9', provider: 'oura', userId: 'u1' }), 2, /No participant P9; add it with `wearhook participants add P9`/);
      await refused(() => store.run(linkParticipantAccountOp, { label: 'P001', provider: 'fitbit', userId: 'u1' }), 2, /Unknown provider "fitbit"/);
      // An account belongs to one participant: moving it is explicit.
      await store.run(linkParticipantAccountOp, { label: 'P001', provider: 'vital', userId: 'v-1' });
      await store.run(addParticipantOp, 'P002', {});
      await refused(() => store.run(linkParticipantAccountOp, { label: 'P002', provider: 'vital', userId: 'v-1' }), 1, /The vital account v-1 belongs to participant P001; add --move/);
      expect(await store.run(linkParticipantAccountOp, { label: 'P002', provider: 'vital', userId: 'v-1', move: true })).toMatchObject({ moved_from: 'P001' });
      expect((await store.read(listParticipantViewsOp)).map((p) => [p.label, p.accounts.length, p.start])).toEqual([
        ['P001', 0, null],
        ['P002', 1, null],
      ]);
    });
  });

  // An old SQLite file (PostgreSQL starts at the current schema).
  it.skipIf(onPostgres)('existing Oura labels become participants when an older database is upgraded', () => {
    const file = path.join(dir, 'old.db');
    const old = openDatabase(file, { migrateTo: 6 });
    const insert = old.prepare('INSERT INTO users (provider, user_id, label, scopes, created_at) VALUES (?, ?, ?, ?, ?)');
    insert.run('oura', 'u-7', 'P007', 'daily', '2026-01-05T10:00:00Z');
    insert.run('oura', 'u-8', 'P008', 'daily', '2026-01-06T10:00:00Z');
    insert.run('oura', 'u-9', null, 'daily', '2026-01-07T10:00:00Z');
    old.close();

    const upgraded = openDatabase(file);
    try {
      expect(upgraded.prepare('SELECT label, created_at FROM participants ORDER BY label').all()).toEqual([
        { label: 'P007', created_at: '2026-01-05T10:00:00Z' },
        { label: 'P008', created_at: '2026-01-06T10:00:00Z' },
      ]);
      expect(listUsers(upgraded, 'oura').map((u) => [u.user_id, u.label, u.scopes])).toEqual([
        ['u-7', 'P007', 'daily'],
        ['u-8', 'P008', 'daily'],
        ['u-9', null, 'daily'],
      ]);
    } finally {
      upgraded.close();
    }
  });
});
