import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../src/store/db.js';
import { storeDocumentOp, upsertDocument } from '../src/store/documents.js';
import { attributeSamplesToSleepDays, upsertSamples } from '../src/store/samples.js';
import { upsertUser } from '../src/store/users.js';
import { columnsOf, type ExportType } from '../src/export/tables.js';
import { runCli, tempDir } from './helpers/cli.js';
import * as fx from './fixtures/documents.js';
import { onPostgres, runOp, testDatabase, withTestStore } from './helpers/engine.js';
import { exportSourceQuery, exportSpansOp } from '../src/store/export.js';
import { sourcesFor } from '../src/export/sources.js';

/** Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES). */

const LABEL = 'P001, "pilot"';
/** When the seeded versions were obtained: the `retrieved_at` of every row. */
const RETRIEVED = new Date('2026-03-02T08:00:00.000Z');
const PROVENANCE = { source: 'webhook', retrieved_at: '2026-03-02T08:00:00.000Z', version: 1 };
let dir: string;
let db: string;

function seed(store: DB): void {
  upsertUser(store, { provider: 'oura', userId: fx.OURA_USER, label: LABEL, scopes: 'daily heartrate' });
  for (const [type, doc, start] of [
    ['sleep', fx.ouraSleep, fx.ouraSleep.bedtime_start],
    ['sleep', fx.ouraRest, fx.ouraRest.bedtime_start],
    ['daily_readiness', fx.ouraReadiness, fx.ouraReadiness.timestamp],
    ['daily_readiness', { ...fx.ouraReadiness, id: 'readiness-2026-03-01', day: '2026-03-01', score: 70 }, null],
    ['daily_readiness', { ...fx.ouraReadiness, id: 'readiness-2026-03-03', day: '2026-03-03', score: 71 }, null],
    ['daily_activity', fx.ouraActivity, fx.ouraActivity.timestamp],
  ] as const) {
    upsertDocument(store, { provider: 'oura', type, id: doc.id, userId: fx.OURA_USER, day: doc.day, startTime: start, data: doc }, RETRIEVED);
  }
  upsertDocument(store, { provider: 'vital', type: 'sleep', id: fx.vitalSleep.id, userId: fx.VITAL_USER, day: fx.vitalSleep.calendar_date, startTime: fx.vitalSleep.bedtime_start, data: fx.vitalSleep }, RETRIEVED);
  upsertDocument(store, { provider: 'vital', type: 'activity', id: fx.vitalActivity.id, userId: fx.VITAL_USER, day: fx.vitalActivity.calendar_date, data: fx.vitalActivity }, RETRIEVED);
  upsertDocument(store, { provider: 'open-wearables', type: 'sleep', id: fx.owSleep.id, userId: fx.OW_USER, day: '2026-03-02', startTime: fx.owSleep.start_time, endTime: fx.owSleep.end_time, data: fx.owSleep }, RETRIEVED);
  upsertSamples(store, [
    { provider: 'open-wearables', userId: fx.OW_USER, seriesType: 'heart_rate_variability_rmssd', timestamp: '2026-03-02T02:05:00-05:00', day: '2026-03-02', value: 40, unit: 'ms', sourceId: 'batch-9' },
    { provider: 'open-wearables', userId: fx.OW_USER, seriesType: 'heart_rate_variability_rmssd', timestamp: '2026-03-02T02:00:00-05:00', day: '2026-03-02', value: 38.2, unit: 'ms', sourceId: 'batch-9' },
    { provider: 'open-wearables', userId: fx.OW_USER, seriesType: 'heart_rate_variability_sdnn', timestamp: '2026-03-02T02:00:00-05:00', day: '2026-03-02', value: 55, unit: 'ms', sourceId: 'batch-9' },
  ], { source: 'webhook', retrievedAt: RETRIEVED });
  attributeSamplesToSleepDays(store, { provider: 'open-wearables', userId: fx.OW_USER, seriesTypes: ['heart_rate_variability_rmssd'], fromMs: 0, toMs: Date.parse('2030-01-01T00:00:00Z') });
}

/** What a researcher must get, column by column. */
const EXPECTED: Record<"sleep" | "hrv" | "readiness" | "activity", Record<string, string | number | boolean | null>[]> = {
  sleep: [
    {
      provider: 'oura', user_id: fx.OURA_USER, day: '2026-03-02', bedtime_start: '2026-03-01T23:10:00+01:00', bedtime_end: '2026-03-02T07:01:30+01:00',
      type: 'long_sleep', total_sleep_s: 23550, time_in_bed_s: 27690, deep_s: 4620, light_s: 13050, rem_s: 5880, awake_s: 2310,
      efficiency_pct: 89, latency_s: 540, avg_hr_bpm: 52.5, lowest_hr_bpm: 47, avg_hrv_ms: 48, avg_breath_rpm: 14.625, source_id: 'sleep-2026-03-02-a',
      bedtime_start_utc: '2026-03-01T22:10:00Z', bedtime_end_utc: '2026-03-02T06:01:30Z', utc_offset_min: 60, ...PROVENANCE, label: LABEL,
      is_main_sleep: true, time_uncertain: false, sleep_algorithm_version: 'v2', sleep_analysis_reason: null,
    },
    {
      provider: 'open-wearables', user_id: fx.OW_USER, day: '2026-03-02', bedtime_start: '2026-03-01T23:30:00-05:00', bedtime_end: '2026-03-02T07:00:00-05:00',
      type: 'sleep', total_sleep_s: 25200, time_in_bed_s: 27000, deep_s: 5400, light_s: 14400, rem_s: 5400, awake_s: 1800,
      efficiency_pct: 87.5, latency_s: null, avg_hr_bpm: null, lowest_hr_bpm: null, avg_hrv_ms: null, avg_breath_rpm: null, source_id: 'ow-sleep-001',
      bedtime_start_utc: '2026-03-02T04:30:00Z', bedtime_end_utc: '2026-03-02T12:00:00Z', utc_offset_min: -300, ...PROVENANCE, label: null,
      is_main_sleep: true, time_uncertain: false, sleep_algorithm_version: null, sleep_analysis_reason: null,
    },
    {
      provider: 'vital', user_id: fx.VITAL_USER, day: '2026-03-02', bedtime_start: '2026-03-01T22:48:00+00:00', bedtime_end: '2026-03-02T06:30:00+00:00',
      type: 'long_sleep', total_sleep_s: 25200, time_in_bed_s: 27720, deep_s: 6000, light_s: 13200, rem_s: 6000, awake_s: 2520,
      efficiency_pct: 91, latency_s: 600, avg_hr_bpm: 55, lowest_hr_bpm: 49, avg_hrv_ms: 62.5, avg_breath_rpm: 15.2, source_id: 'b1c2d3e4-vital-sleep',
      bedtime_start_utc: '2026-03-01T22:48:00Z', bedtime_end_utc: '2026-03-02T06:30:00Z', utc_offset_min: 0, ...PROVENANCE, label: null,
      is_main_sleep: true, time_uncertain: false, sleep_algorithm_version: null, sleep_analysis_reason: null,
    },
  ],
  // The rest period's HRV (13:00) is left out, as the period is left out of sleep.
  hrv: [
    ...([['2026-03-01T23:55:00+01:00', '2026-03-01T22:55:00Z', 41], ['2026-03-02T00:05:00+01:00', '2026-03-01T23:05:00Z', 47], ['2026-03-02T00:10:00+01:00', '2026-03-01T23:10:00Z', 55.5]] as const).map(
      ([timestamp, utc, rmssd]) => ({
        provider: 'oura', user_id: fx.OURA_USER, day: '2026-03-02', timestamp, rmssd_ms: rmssd, source_id: 'sleep-2026-03-02-a',
        timestamp_utc: utc, utc_offset_min: 60, ...PROVENANCE, label: LABEL, sleep_id: 'sleep-2026-03-02-a', sleep_type: 'long_sleep', time_uncertain: false,
      }),
    ),
    ...([['2026-03-02T02:00:00-05:00', '2026-03-02T07:00:00Z', 38.2], ['2026-03-02T02:05:00-05:00', '2026-03-02T07:05:00Z', 40]] as const).map(([timestamp, utc, rmssd]) => ({
      provider: 'open-wearables', user_id: fx.OW_USER, day: '2026-03-02', timestamp, rmssd_ms: rmssd, source_id: 'batch-9',
      timestamp_utc: utc, utc_offset_min: -300, ...PROVENANCE, version: null, label: null, sleep_id: 'ow-sleep-001', sleep_type: 'sleep', time_uncertain: false,
    })),
  ],
  readiness: [
    {
      provider: 'oura', user_id: fx.OURA_USER, day: '2026-03-02', score: 86, temperature_deviation_c: -0.12, temperature_trend_deviation_c: 0.05,
      activity_balance: 81, body_temperature: 98, hrv_balance: 76, previous_day_activity: null, previous_night: 88, recovery_index: 100,
      resting_heart_rate: 94, sleep_balance: 83, source_id: 'readiness-2026-03-02', utc_offset_min: 60, ...PROVENANCE, label: LABEL,
    },
  ],
  activity: [
    {
      provider: 'oura', user_id: fx.OURA_USER, day: '2026-03-02', score: 78, steps: 9876, active_calories_kcal: 412, total_calories_kcal: 2388,
      distance_m: null, high_activity_s: 600, medium_activity_s: 2700, low_activity_s: 15600, sedentary_s: 30120, resting_s: 27000,
      non_wear_s: 1800, source_id: 'activity-2026-03-02', utc_offset_min: 60, ...PROVENANCE, label: LABEL, equivalent_walking_distance_m: 8210,
    },
    {
      provider: 'vital', user_id: fx.VITAL_USER, day: '2026-03-02', score: null, steps: 11002, active_calories_kcal: 510, total_calories_kcal: 2450.5,
      distance_m: 8432.1, high_activity_s: 750, medium_activity_s: 2700, low_activity_s: 14400, sedentary_s: null, resting_s: null,
      non_wear_s: null, source_id: 'a9f8-vital-activity', utc_offset_min: 0, ...PROVENANCE, label: null, equivalent_walking_distance_m: null,
    },
  ],
};

const asCsvField = (v: string | number | boolean | null) => (v === null ? '' : String(v));

async function exportOne(type: ExportType, format: string, from = '2026-03-02', to = '2026-03-02', extra: string[] = []) {
  const res = await runCli(['--db', db, 'export', '--from', from, '--to', to, '--type', type, '--format', format, ...extra], {
    env: { WEARHOOK_CONFIG_DIR: dir },
  });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return res.stdout;
}

beforeAll(async () => {
  dir = tempDir();
  db = await testDatabase(dir, seed);
});

/** One CLI run per format writes the four tables to a folder; each test below reads its table (stdout is checked by the tests after). */
const tablesByFormat = new Map<string, Promise<string>>();
function exportedTable(type: ExportType, format: 'csv' | 'json' | 'ndjson'): Promise<string> {
  let out = tablesByFormat.get(format);
  if (!out) {
    out = (async () => {
      const folder = path.join(dir, `tables-${format}`);
      const res = await runCli(['--db', db, 'export', '--from', '2026-03-02', '--to', '2026-03-02', '--type', 'sleep,hrv,readiness,activity', '--format', format, '--out', folder], {
        env: { WEARHOOK_CONFIG_DIR: dir },
      });
      expect(res.code, res.stderr).toBe(0);
      return folder;
    })();
    tablesByFormat.set(format, out);
  }
  return out.then((folder) => fs.readFileSync(path.join(folder, `${type}.${format}`), 'utf8'));
}

describe('export: every column of every table', () => {
  for (const type of ['sleep', 'hrv', 'readiness', 'activity'] as const) {
    it(`${type} as CSV (RFC 4180, header first, empty field = null, quoted label)`, async () => {
      const out = await exportedTable(type, 'csv');
      expect(out.split('\r\n')[0]).toBe(columnsOf(type).join(','));
      const records = parse(out, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
      expect(records).toEqual(EXPECTED[type].map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, asCsvField(v)]))));
      expect(Object.keys(records[0]!)).toEqual(columnsOf(type));
    });

    it(`${type} as JSON (an array, numbers as numbers, null as null)`, async () => {
      const rows = JSON.parse(await exportedTable(type, 'json'));
      expect(rows).toEqual(EXPECTED[type]);
      expect(Object.keys(rows[0])).toEqual(columnsOf(type));
    });

    it(`${type} as NDJSON (one object a line)`, async () => {
      const lines = (await exportedTable(type, 'ndjson')).trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l))).toEqual(EXPECTED[type]);
    });
  }

  it('quotes a value with a comma and a quote so that pandas and R read it back intact; stdout has the same bytes as the file', async () => {
    const out = await exportOne('readiness', 'csv');
    expect(out).toContain(',"P001, ""pilot"""\r\n');
    expect(out).toBe(await exportedTable('readiness', 'csv'));
  });
});

describe('export: day range and selection', () => {
  it('includes both edge days and nothing outside them', async () => {
    const days = (from: string, to: string) =>
      exportOne('readiness', 'json', from, to).then((out) => JSON.parse(out).map((r: { day: string }) => r.day));
    const ranges = [['2026-03-01', '2026-03-03'], ['2026-03-02', '2026-03-03'], ['2026-03-01', '2026-03-01'], ['2026-03-04', '2026-03-31']] as const;
    expect(await Promise.all(ranges.map(([from, to]) => days(from, to)))).toEqual([['2026-03-01', '2026-03-02', '2026-03-03'], ['2026-03-02', '2026-03-03'], ['2026-03-01'], []]);
  });

  it('an empty result is an empty table with its header, exit 0', async () => {
    expect(await exportOne('sleep', 'csv', '2027-01-01', '2027-01-31')).toBe(`${columnsOf('sleep').join(',')}\r\n`);
    expect(await exportOne('sleep', 'json', '2027-01-01', '2027-01-31')).toBe('[]\n');
    expect(await exportOne('sleep', 'ndjson', '2027-01-01', '2027-01-31')).toBe('');
  });

  it('--label and --user select one participant', async () => {
    const byLabel = JSON.parse(await exportOne('sleep', 'json', '2026-03-01', '2026-03-03', ['--label', LABEL]));
    expect(byLabel.map((r: { user_id: string }) => r.user_id)).toEqual([fx.OURA_USER]);
    const byUser = JSON.parse(await exportOne('sleep', 'json', '2026-03-01', '2026-03-03', ['--user', fx.VITAL_USER]));
    expect(byUser.map((r: { source_id: string }) => r.source_id)).toEqual([fx.vitalSleep.id]);
  });

  it('several types go to a directory, one file per type', async () => {
    const out = path.join(dir, 'all-tables');
    const res = await runCli(['--db', db, 'export', '--from', '2026-03-02', '--to', '2026-03-02', '--format', 'ndjson', '--out', out], {
      env: { WEARHOOK_CONFIG_DIR: dir },
    });
    expect(res.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['activity.ndjson', 'datapackage.json', 'hrv.ndjson', 'readiness.ndjson', 'sleep.ndjson']);
    expect(fs.readFileSync(path.join(out, 'hrv.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(EXPECTED.hrv.length);
    expect(res.stderr).toMatch(/wrote .*sleep\.ndjson \(3 sleep rows\)/);
  });
});

describe('export: samples over a few days or over every day', () => {
  // Corsano vital signs of three users over 40 days, inserted out of order, at two offsets,
  // several measures at one instant (ordered by the registry's order of the measures).
  const USERS = ['corsano-b', 'corsano-a', 'corsano-c'];
  const MEASURES = ['temp_sk2', 'spo2', 'nibp_systolic', 'respiration_rate'];
  const dayOf = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  let samplesDb: string;

  beforeAll(async () => {
    samplesDb = await testDatabase(dir, (store) => {
      const samples = [];
      for (let i = 39; i >= 0; i--) {
        for (const userId of USERS) {
          for (const seriesType of MEASURES) {
            const offset = userId === 'corsano-c' ? '-05:00' : '+01:00';
            // 23:30 local: the same instant is the next day in UTC for the user five hours behind.
            for (const time of ['23:30:00', '07:15:00']) {
              samples.push({ provider: 'corsano', userId, seriesType, timestamp: `${dayOf(i)}T${time}${offset}`, day: dayOf(i), value: 90 + i, sourceId: null });
            }
          }
        }
      }
      upsertSamples(store, samples, { source: 'webhook', retrievedAt: RETRIEVED });
    }, 'samples.db');
  });

  const vitalSigns = async (from: string, to: string) => {
    const res = await runCli(['--db', samplesDb, 'export', '--from', from, '--to', to, '--type', 'vital_signs', '--format', 'ndjson'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code, res.stderr).toBe(0);
    return res.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { user_id: string; day: string; timestamp_utc: string; measure: string });
  };

  it('a few days, or most, are the same rows in the same order as those days in an export of every day', async () => {
    // SQLite reads samples in key order for a range that covers most of them, through the day index for a few days: both ways are taken here.
    if (!onPostgres) {
      await withTestStore(samplesDb, async (store) => {
        const sources = sourcesFor('vital_signs');
        const spans = await store.read(exportSpansOp, sources);
        expect(spans?.filter(Boolean)).toHaveLength(MEASURES.length); // nibp_diastolic and temp_sk1 have none
        const indexOf = (from: string, to: string) => JSON.stringify(exportSourceQuery(sources, { from, to, spans })!.sql).match(/INDEXED BY (\w+)/g);
        expect(indexOf('2025-12-01', '2026-03-01')).toEqual(['INDEXED BY sqlite_autoindex_samples_1']);
        expect(indexOf('2026-01-05', '2026-02-03')).toEqual(['INDEXED BY sqlite_autoindex_samples_1']); // 30 of the 40 days
        expect(indexOf('2026-01-10', '2026-01-14')).toEqual(['INDEXED BY samples_by_day']);
      });
    }
    const every = await vitalSigns('2025-12-01', '2026-03-01');
    expect(every).toHaveLength(40 * USERS.length * MEASURES.length * 2);
    // Contract order: user, day, time; at one instant, the measures in the registry's order.
    const order = ['spo2', 'respiration_rate', 'nibp_systolic', 'temp_sk2'];
    const byBytes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const sorted = [...every].sort((a, b) => byBytes(a.user_id, b.user_id) || byBytes(a.day, b.day) || byBytes(a.timestamp_utc, b.timestamp_utc) || order.indexOf(a.measure) - order.indexOf(b.measure));
    expect(every).toEqual(sorted);
    const most = await vitalSigns('2026-01-05', '2026-02-03');
    expect(most).toEqual(every.filter((r) => r.day >= '2026-01-05' && r.day <= '2026-02-03'));
    expect(most).toHaveLength(30 * USERS.length * MEASURES.length * 2);
    const few = await vitalSigns('2026-01-10', '2026-01-14');
    expect(few).toEqual(every.filter((r) => r.day >= '2026-01-10' && r.day <= '2026-01-14'));
    expect(few).toHaveLength(5 * USERS.length * MEASURES.length * 2);
  });
});

describe('export: a newer version of a document replaces the older', () => {
  it('shows the new values once, never both', async () => {
    const file = await testDatabase(tempDir(), seed, 'versions.db');
    const newer = () => runOp(file, storeDocumentOp, { provider: 'oura', type: 'daily_readiness', id: fx.ouraReadiness.id, userId: fx.OURA_USER, day: '2026-03-02', data: { ...fx.ouraReadiness, score: 91 } }, { source: 'webhook', retrievedAt: new Date() });
    expect(await newer()).toBe('updated');
    expect(await newer()).toBe('unchanged');
    const res = await runCli(['--db', file, 'export', '--from', '2026-03-02', '--to', '2026-03-02', '--type', 'readiness', '--format', 'json'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(JSON.parse(res.stdout).map((r: { score: number }) => r.score)).toEqual([91]);
  });
});
