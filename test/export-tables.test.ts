import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../src/export/export.js';
import { EXPORT_FORMATS, EXPORT_TYPES, type ExportFormat, type ExportType } from '../src/export/names.js';
import { TABLES, type ColumnDef } from '../src/export/registry/index.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { runOnTerminal, shellQuote } from './helpers/terminal.js';
import * as study from './fixtures/export-study.js';
import { onPostgres, testDatabaseOf, withTestStore } from './helpers/engine.js';

/**
 * Every table in every format, from one study database (test/fixtures/export-study.ts), each
 * column checked against the value worked out by hand below, nulls and the New York night of
 * the change to summer time (2026-03-08, 07:00Z) included. Parquet files are read back with
 * an independent reader (parquet-wasm, the Rust arrow-rs implementation, through apache-arrow).
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

type Cell = string | number | boolean | null;
type Row = Record<string, Cell>;

let dir: string;
let dbFile: string;

const RANGE = { from: '2026-03-01', to: '2026-03-31' };

beforeAll(async () => {
  dir = tempDir();
  study.seedStudy(path.join(dir, 'wearhook.db'));
  dbFile = await testDatabaseOf(path.join(dir, 'wearhook.db'));
  await withTestStore(dbFile, async (store) => {
    for (const format of EXPORT_FORMATS) {
      await runExport(store, { ...RANGE, types: [...EXPORT_TYPES], format, out: path.join(dir, format) });
    }
  });
});

// ---- what a researcher must get, worked out by hand ----

const ANNA = { provider: 'oura', user_id: study.OURA_USER };
const ANNA_DOC = { source: 'sync', retrieved_at: '2026-03-09T08:00:00.000Z', version: 1, label: study.LABEL };
const ANNA_SAMPLE = { ...ANNA_DOC, version: null };
const WEBHOOK_DOC = { source: 'webhook', retrieved_at: '2026-03-09T08:00:00.000Z', version: 1, label: null };
const WEBHOOK_SAMPLE = { ...WEBHOOK_DOC, version: null };
const SLEEP_ID = 'sleep-dst-0308';
const DAY = '2026-03-08';

/** The night's epochs: [local start, UTC start, offset]; New York changes from -05:00 to -04:00 at 07:00Z. */
const STAGES: [string, string, number, string][] = [
  ['01:30', '06:30', -300, 'awake'],
  ['01:35', '06:35', -300, 'awake'],
  ['01:40', '06:40', -300, 'awake'],
  ['01:45', '06:45', -300, 'awake'],
  ['01:50', '06:50', -300, 'light'],
  ['01:55', '06:55', -300, 'rem'],
  ['03:00', '07:00', -240, 'rem'],
  ['03:05', '07:05', -240, 'light'],
  ['03:10', '07:10', -240, 'rem'],
  ['03:15', '07:15', -240, 'awake'],
  ['03:20', '07:20', -240, 'awake'],
  ['03:25', '07:25', -240, 'deep'],
  ['03:30', '07:30', -240, 'deep'],
  ['03:35', '07:35', -240, 'deep'],
  ['03:40', '07:40', -240, 'awake'],
];
const MOVEMENTS = ['no_motion', 'no_motion', 'active', 'tossing_and_turning', 'restless', 'restless', 'restless', 'no_motion', 'tossing_and_turning', 'active'];
const MOVEMENT_TIMES = ['01:30:00', '01:30:30', '01:31:00', '01:31:30', '01:32:00', '01:32:30', '01:33:00', '01:33:30', '01:34:00', '01:34:30'];
const MOVEMENT_UTC = ['06:30:00', '06:30:30', '06:31:00', '06:31:30', '06:32:00', '06:32:30', '06:33:00', '06:33:30', '06:34:00', '06:34:30'];

const offsetText = (min: number) => (min === -300 ? '-05:00' : '-04:00');

const EXPECTED: Record<ExportType, Row[]> = {
  sleep: [
    {
      ...ANNA, day: DAY, bedtime_start: '2026-03-08T01:30:00-05:00', bedtime_end: '2026-03-08T03:45:00-04:00', type: 'long_sleep',
      total_sleep_s: 3000, time_in_bed_s: 4500, deep_s: 900, light_s: 600, rem_s: 1500, awake_s: 1500, efficiency_pct: 67, latency_s: 300,
      avg_hr_bpm: 54, lowest_hr_bpm: 49, avg_hrv_ms: 44, avg_breath_rpm: 14.625, source_id: SLEEP_ID,
      bedtime_start_utc: '2026-03-08T06:30:00Z', bedtime_end_utc: '2026-03-08T07:45:00Z', utc_offset_min: -300, ...ANNA_DOC,
      is_main_sleep: true, time_uncertain: false, sleep_algorithm_version: 'v2', sleep_analysis_reason: null,
    },
  ],
  // The null item (06:55Z) is left out; 07:00Z is the first instant of summer time.
  hrv: [
    { ...ANNA, day: DAY, timestamp: '2026-03-08T01:50:00-05:00', rmssd_ms: 41, source_id: SLEEP_ID, timestamp_utc: '2026-03-08T06:50:00Z', utc_offset_min: -300, ...ANNA_DOC, sleep_id: SLEEP_ID, sleep_type: 'long_sleep', time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T03:00:00-04:00', rmssd_ms: 47, source_id: SLEEP_ID, timestamp_utc: '2026-03-08T07:00:00Z', utc_offset_min: -240, ...ANNA_DOC, sleep_id: SLEEP_ID, sleep_type: 'long_sleep', time_uncertain: false },
  ],
  readiness: [
    {
      ...ANNA, day: DAY, score: 79, temperature_deviation_c: -0.12, temperature_trend_deviation_c: 0.05, activity_balance: 81, body_temperature: 98,
      hrv_balance: 76, previous_day_activity: null, previous_night: 70, recovery_index: 100, resting_heart_rate: 94, sleep_balance: 83,
      source_id: 'readiness-0308', utc_offset_min: -300, ...ANNA_DOC,
    },
  ],
  activity: [
    {
      ...ANNA, day: DAY, score: 81, steps: 9876, active_calories_kcal: 412, total_calories_kcal: 2388, distance_m: null, high_activity_s: 120,
      medium_activity_s: 1500, low_activity_s: 9900, sedentary_s: 31000, resting_s: 25200, non_wear_s: 3600, source_id: 'activity-0308',
      utc_offset_min: -240, ...ANNA_DOC, equivalent_walking_distance_m: 8210,
    },
  ],
  daily_sleep: [
    {
      ...ANNA, day: DAY, score: 58, deep_sleep: 52, efficiency: 67, latency: 88, rem_sleep: 91, restfulness: null, timing: 40, total_sleep: 12,
      source_id: 'daily-sleep-0308', utc_offset_min: -300, ...ANNA_DOC,
    },
  ],
  heart_rate: [
    // Corsano's first reading (the second has bpm 0: no reading).
    { provider: 'corsano', user_id: study.CORSANO_USER, day: DAY, timestamp: '2026-03-08T10:02:01+01:00', bpm: 79, source_id: null, timestamp_utc: '2026-03-08T09:02:01Z', utc_offset_min: 60, ...WEBHOOK_SAMPLE, context: null, interval_s: null, sleep_id: null, time_uncertain: false },
    // The sleep's 5-minute averages (its null item left out), then Oura's heart-rate collection in UTC, read in her zone, then the session's averages.
    { ...ANNA, day: DAY, timestamp: '2026-03-08T01:55:00-05:00', bpm: 55, source_id: SLEEP_ID, timestamp_utc: '2026-03-08T06:55:00Z', utc_offset_min: -300, ...ANNA_DOC, context: 'sleep', interval_s: 300, sleep_id: SLEEP_ID, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T03:05:00-04:00', bpm: 53, source_id: SLEEP_ID, timestamp_utc: '2026-03-08T07:05:00Z', utc_offset_min: -240, ...ANNA_DOC, context: 'sleep', interval_s: 300, sleep_id: SLEEP_ID, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T01:59:00-05:00', bpm: 61, source_id: null, timestamp_utc: '2026-03-08T06:59:00Z', utc_offset_min: -300, ...ANNA_SAMPLE, context: 'awake', interval_s: null, sleep_id: null, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T03:01:00-04:00', bpm: 58, source_id: null, timestamp_utc: '2026-03-08T07:01:00Z', utc_offset_min: -240, ...ANNA_SAMPLE, context: 'rest', interval_s: null, sleep_id: null, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T12:00:00-04:00', bpm: 60, source_id: 'session-0308', timestamp_utc: '2026-03-08T16:00:00Z', utc_offset_min: -240, ...ANNA_DOC, context: 'session', interval_s: 300, sleep_id: null, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T12:05:00-04:00', bpm: 58, source_id: 'session-0308', timestamp_utc: '2026-03-08T16:05:00Z', utc_offset_min: -240, ...ANNA_DOC, context: 'session', interval_s: 300, sleep_id: null, time_uncertain: false },
    // Open Wearables in Tokyo: 07:30 there is 22:30Z the day before.
    { provider: 'open-wearables', user_id: study.OW_USER, day: DAY, timestamp: '2026-03-08T07:30:00+09:00', bpm: 128, source_id: 'ow-batch-12', timestamp_utc: '2026-03-07T22:30:00Z', utc_offset_min: 540, ...WEBHOOK_SAMPLE, context: null, interval_s: null, sleep_id: null, time_uncertain: false },
    { provider: 'open-wearables', user_id: study.OW_USER, day: DAY, timestamp: '2026-03-08T07:31:00+09:00', bpm: 131, source_id: 'ow-batch-12', timestamp_utc: '2026-03-07T22:31:00Z', utc_offset_min: 540, ...WEBHOOK_SAMPLE, context: null, interval_s: null, sleep_id: null, time_uncertain: false },
    // Vital writes UTC and timezone_offset 3600 apart: local +01:00.
    { provider: 'vital', user_id: study.VITAL_USER, day: DAY, timestamp: '2026-03-08T17:30:00+01:00', bpm: 141, source_id: null, timestamp_utc: '2026-03-08T16:30:00Z', utc_offset_min: 60, ...WEBHOOK_SAMPLE, context: null, interval_s: null, sleep_id: null, time_uncertain: false },
    { provider: 'vital', user_id: study.VITAL_USER, day: DAY, timestamp: '2026-03-08T17:31:00+01:00', bpm: 143.5, source_id: null, timestamp_utc: '2026-03-08T16:31:00Z', utc_offset_min: 60, ...WEBHOOK_SAMPLE, context: null, interval_s: null, sleep_id: null, time_uncertain: false },
  ],
  sleep_stages: STAGES.map(([local, utc, offset, stage], epoch) => ({
    ...ANNA, day: DAY, timestamp: `2026-03-08T${local}:00${offsetText(offset)}`, stage, sleep_id: SLEEP_ID, timestamp_utc: `2026-03-08T${utc}:00Z`,
    utc_offset_min: offset, ...ANNA_DOC, epoch, sleep_type: 'long_sleep', time_uncertain: false,
  })),
  sleep_movement: MOVEMENTS.map((movement, epoch) => ({
    ...ANNA, day: DAY, timestamp: `2026-03-08T${MOVEMENT_TIMES[epoch]}-05:00`, movement, sleep_id: SLEEP_ID, timestamp_utc: `2026-03-08T${MOVEMENT_UTC[epoch]}Z`,
    utc_offset_min: -300, ...ANNA_DOC, epoch, sleep_type: 'long_sleep', time_uncertain: false,
  })),
  met: [
    { ...ANNA, day: DAY, timestamp: '2026-03-08T04:00:00-04:00', met: 0.9, source_id: 'activity-0308', timestamp_utc: '2026-03-08T08:00:00Z', utc_offset_min: -240, ...ANNA_DOC, interval_s: 60, time_uncertain: false },
    { ...ANNA, day: DAY, timestamp: '2026-03-08T04:02:00-04:00', met: 1.2, source_id: 'activity-0308', timestamp_utc: '2026-03-08T08:02:00Z', utc_offset_min: -240, ...ANNA_DOC, interval_s: 60, time_uncertain: false },
  ],
  activity_class: (['non_wear', 'rest', 'inactive', 'low'] as const).map((activity_class, epoch) => ({
    ...ANNA, day: DAY, timestamp: `2026-03-08T04:${['00', '05', '10', '15'][epoch]}:00-04:00`, activity_class, source_id: 'activity-0308',
    timestamp_utc: `2026-03-08T08:${['00', '05', '10', '15'][epoch]}:00Z`, utc_offset_min: -240, ...ANNA_DOC, epoch, time_uncertain: false,
  })),
  spo2: [
    { ...ANNA, day: DAY, spo2_avg_pct: 96.5, breathing_disturbance_index: 7, source_id: 'spo2-0308', utc_offset_min: null, ...ANNA_DOC },
    { ...ANNA, day: '2026-03-09', spo2_avg_pct: null, breathing_disturbance_index: null, source_id: 'spo2-0309', utc_offset_min: null, ...ANNA_DOC },
  ],
  stress: [
    { ...ANNA, day: DAY, stress_high_s: 5400, recovery_high_s: 3600, day_summary: 'normal', source_id: 'stress-0308', utc_offset_min: null, ...ANNA_DOC },
    { ...ANNA, day: '2026-03-09', stress_high_s: null, recovery_high_s: null, day_summary: null, source_id: 'stress-0309', utc_offset_min: null, ...ANNA_DOC },
  ],
  resilience: [{ ...ANNA, day: DAY, level: 'solid', sleep_recovery: 62.5, daytime_recovery: 40.25, stress: 55, source_id: 'resilience-0308', utc_offset_min: null, ...ANNA_DOC }],
  // No id in Oura's schema: keyed by user and day.
  cardiovascular_age: [{ ...ANNA, day: DAY, vascular_age_years: 41, source_id: `${study.OURA_USER}:2026-03-08`, utc_offset_min: null, ...ANNA_DOC }],
  vo2_max: [{ ...ANNA, day: DAY, vo2_max: 44.2, source_id: 'vo2-0308', utc_offset_min: -240, ...ANNA_DOC }],
  workouts: [
    {
      ...ANNA, day: DAY, start: '2026-03-08T10:00:00-04:00', end: '2026-03-08T11:00:00-04:00', activity: 'cycling', intensity: 'moderate', duration_s: 3600,
      calories_kcal: 420.5, distance_m: 15000.5, avg_hr_bpm: null, source_id: 'workout-0308', start_utc: '2026-03-08T14:00:00Z', end_utc: '2026-03-08T15:00:00Z',
      utc_offset_min: -240, ...ANNA_DOC, workout_source: 'manual', workout_label: `Ride with ${study.OTHER_EMAIL}`, time_uncertain: false,
    },
    {
      provider: 'open-wearables', user_id: study.OW_USER, day: DAY, start: '2026-03-08T07:00:00+09:00', end: '2026-03-08T08:02:00+09:00', activity: null, intensity: null,
      duration_s: 3720, calories_kcal: null, distance_m: null, avg_hr_bpm: 142, source_id: 'ow-workout-77', start_utc: '2026-03-07T22:00:00Z', end_utc: '2026-03-07T23:02:00Z',
      utc_offset_min: 540, ...WEBHOOK_DOC, workout_source: null, workout_label: null, time_uncertain: false,
    },
    {
      provider: 'vital', user_id: study.VITAL_USER, day: DAY, start: '2026-03-08T17:00:00+01:00', end: '2026-03-08T18:01:30+01:00', activity: null, intensity: null,
      duration_s: 3690, calories_kcal: 447, distance_m: 8544, avg_hr_bpm: 142, source_id: 'c90bd6fb-vital-workout', start_utc: '2026-03-08T16:00:00Z', end_utc: '2026-03-08T17:01:30Z',
      utc_offset_min: 60, ...WEBHOOK_DOC, workout_source: null, workout_label: null, time_uncertain: false,
    },
  ],
  sessions: [
    {
      ...ANNA, day: DAY, start: '2026-03-08T12:00:00-04:00', end: '2026-03-08T12:10:00-04:00', type: 'meditation', mood: 'good', source_id: 'session-0308',
      start_utc: '2026-03-08T16:00:00Z', end_utc: '2026-03-08T16:10:00Z', utc_offset_min: -240, ...ANNA_DOC, time_uncertain: false,
    },
  ],
  tags: [
    ...['tag_generic_caffeine', 'tag_generic_alcohol'].map((tag) => ({
      ...ANNA, day: DAY, start: '2026-03-08T08:30:00-04:00', end: null, tag, source_id: 'tag-0308', start_utc: '2026-03-08T12:30:00Z', end_utc: null,
      utc_offset_min: -240, ...ANNA_DOC, kind: 'tag', end_day: null, custom_name: null, comment: `Coffee with ${study.OTHER_EMAIL}`, time_uncertain: false,
    })),
    {
      ...ANNA, day: DAY, start: '2026-03-08T20:00:00-04:00', end: null, tag: 'custom', source_id: 'etag-0308', start_utc: '2026-03-09T00:00:00Z', end_utc: null,
      utc_offset_min: -240, ...ANNA_DOC, kind: 'enhanced_tag', end_day: null, custom_name: 'Migraine (Anna K)', comment: `migraine, call ${study.EMAIL}`, time_uncertain: false,
    },
  ],
  sleep_time: [
    {
      ...ANNA, day: DAY, optimal_bedtime_start_s: -1800, optimal_bedtime_end_s: 3600, recommendation: 'follow_optimal_bedtime', status: 'optimal_found',
      source_id: 'sleep-time-0308', utc_offset_min: -240, ...ANNA_DOC,
    },
  ],
  rest_mode_periods: [
    {
      ...ANNA, day: DAY, start: '2026-03-08T17:00:00-04:00', end: '2026-03-09T09:00:00-04:00', source_id: 'rest-mode-0308', start_utc: '2026-03-08T21:00:00Z',
      end_utc: '2026-03-09T13:00:00Z', utc_offset_min: -240, ...ANNA_DOC, end_day: '2026-03-09', episodes: 2, time_uncertain: false,
    },
  ],
  // Not day data: exported although it was set up before the range.
  ring_configuration: [
    {
      ...ANNA, day: '2025-11-02', set_up_at: '2025-11-02T10:00:00Z', hardware_type: 'gen3', firmware_version: '2.9.21', design: 'heritage', color: 'stealth_black',
      size: 9, source_id: 'ring-1', utc_offset_min: 0, ...ANNA_DOC,
    },
  ],
  vital_signs: [
    ['10:02:01', '09:02:01', 'respiration_rate', 22, 'breaths/min'],
    ['10:02:04', '09:02:04', 'spo2', 97, '%'],
    ['10:02:04', '09:02:04', 'nibp_systolic', 122, 'mmHg'],
    ['10:02:04', '09:02:04', 'nibp_diastolic', 72, 'mmHg'],
    ['10:03:00', '09:03:00', 'temp_sk1', 36.4, null],
    ['10:03:00', '09:03:00', 'temp_sk2', 33.1, null],
  ].map(([local, utc, measure, value, unit]) => ({
    provider: 'corsano', user_id: study.CORSANO_USER, day: DAY, timestamp: `2026-03-08T${local}+01:00`, measure, value, unit, timestamp_utc: `2026-03-08T${utc}Z`,
    utc_offset_min: 60, ...WEBHOOK_SAMPLE, time_uncertain: false,
  })) as Row[],
};

// ---- reading each format back ----

const DAY_MS = 86_400_000;

/** A value as the test compares it: UTC timestamps as instants (ms), everything else as JSON would have it. */
function canonical(column: ColumnDef, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (column.type === 'utc_datetime') return typeof value === 'string' ? Date.parse(value) : Number(value);
  return value as Cell;
}

function fromCsvField(column: ColumnDef, text: string): unknown {
  if (text === '') return null;
  if (column.type === 'integer' || column.type === 'number') return Number(text);
  if (column.type === 'boolean') {
    expect(['true', 'false']).toContain(text);
    return text === 'true';
  }
  return text;
}

/** Arrow's types for each registry type: DATE, UTC TIMESTAMP, INT32, DOUBLE, BOOLEAN, UTF-8. */
const ARROW_TYPES: Record<ColumnDef['type'], string> = {
  date: 'Date32<DAY>',
  utc_datetime: 'Timestamp<MILLISECOND, UTC>',
  integer: 'Int32',
  number: 'Float64',
  boolean: 'Bool',
  string: 'Utf8',
  local_datetime: 'Utf8',
};

function readTable(type: ExportType, format: ExportFormat): { columns: string[]; rows: Record<string, unknown>[] } {
  const file = path.join(dir, format, `${type}.${format}`);
  const defs = TABLES[type].columns as readonly ColumnDef[];
  if (format === 'csv') {
    const text = fs.readFileSync(file, 'utf8');
    const [header, ...records] = parse(text, { relaxColumnCount: false }) as string[][];
    expect(text.endsWith('\r\n')).toBe(true);
    return { columns: header!, rows: records.map((r) => Object.fromEntries(defs.map((c, i) => [c.name, fromCsvField(c, r[i]!)]))) };
  }
  if (format === 'json' || format === 'ndjson') {
    const text = fs.readFileSync(file, 'utf8');
    const rows = (format === 'json' ? JSON.parse(text) : text.trimEnd().split('\n').filter(Boolean).map((l) => JSON.parse(l))) as Record<string, unknown>[];
    return { columns: rows[0] ? Object.keys(rows[0]) : defs.map((c) => c.name), rows };
  }
  const table = tableFromIPC(readParquet(new Uint8Array(fs.readFileSync(file))).intoIPCStream());
  for (const field of table.schema.fields) {
    const def = defs.find((c) => c.name === field.name)!;
    expect(`${field.name}: ${String(field.type)}`).toBe(`${field.name}: ${ARROW_TYPES[def.type]}`);
    expect(field.nullable).toBe(true);
  }
  const rows = table.toArray().map((r: { toJSON(): Record<string, unknown> }) => {
    const row = r.toJSON();
    for (const c of defs) {
      const v = row[c.name];
      if (v === null || v === undefined) row[c.name] = null;
      else if (c.type === 'date') row[c.name] = new Date(Number(v) - (Number(v) % DAY_MS)).toISOString().slice(0, 10);
      else if (c.type === 'utc_datetime') row[c.name] = Number(v);
    }
    return row;
  });
  return { columns: table.schema.fields.map((f) => f.name), rows };
}

describe('every table in every format, column by column', () => {
  it('the study fixture covers every table', () => {
    for (const type of EXPORT_TYPES) expect(EXPECTED[type].length, type).toBeGreaterThan(0);
  });

  for (const type of EXPORT_TYPES) {
    for (const format of EXPORT_FORMATS) {
      it(`${type} as ${format}`, () => {
        const defs = TABLES[type].columns as readonly ColumnDef[];
        const { columns, rows } = readTable(type, format);
        expect(columns).toEqual(defs.map((c) => c.name));
        const got = rows.map((row) => Object.fromEntries(defs.map((c) => [c.name, canonical(c, row[c.name])])));
        const want = EXPECTED[type].map((row) => Object.fromEntries(defs.map((c) => [c.name, canonical(c, row[c.name] ?? null)])));
        // Every column of the expected rows is named (none forgotten in the hand-written rows).
        for (const row of EXPECTED[type]) expect(Object.keys(row).sort()).toEqual(defs.map((c) => c.name).sort());
        expect(got).toEqual(want);
      });
    }
  }
});

// Checks the fixtures, not the store: once.
describe.skipIf(onPostgres)('the fixtures are Oura documents as its spec describes them', () => {
  /** Oura's OpenAPI 3.1 models, each closed (no property it does not name), validated with ajv. */
  it('every Oura fixture document has every required field of its model and no other', () => {
    const spec = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'oura-openapi.json'), 'utf8')) as { components: { schemas: Record<string, Record<string, unknown>> } };
    const close = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(close);
      if (!node || typeof node !== 'object') return node;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = close(v);
      if (out.properties && out.type === 'object') out.additionalProperties = false;
      return out;
    };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'oura', components: close(spec.components) as object });
    const MODELS: Record<string, string> = {
      sleep: 'SleepModel', daily_sleep: 'DailySleepModel', daily_readiness: 'DailyReadinessModel', daily_activity: 'DailyActivityModel',
      daily_spo2: 'DailySpO2Model', daily_stress: 'DailyStressModel', daily_resilience: 'DailyResilienceModel',
      daily_cardiovascular_age: 'DailyCardiovascularAgeModel', vo2_max: 'VO2MaxModel', workout: 'PublicWorkout', session: 'SessionModel',
      tag: 'TagModel', enhanced_tag: 'EnhancedTagModel', sleep_time: 'SleepTimeModel', rest_mode_period: 'RestModePeriodModel',
      ring_configuration: 'RingConfigurationModel',
    };
    expect(Object.keys(study.OURA).sort()).toEqual(Object.keys(MODELS).sort());
    for (const [type, docs] of Object.entries(study.OURA)) {
      const validate = ajv.getSchema(`oura#/components/schemas/${MODELS[type]}`)!;
      for (const doc of docs) expect(validate(doc) ? [] : validate.errors, `${type} ${JSON.stringify(doc).slice(0, 60)}`).toEqual([]);
    }
    const heartRate = ajv.getSchema('oura#/components/schemas/HeartRateModel')!;
    for (const sample of study.OURA_HEART_RATE) expect(heartRate(sample) ? [] : heartRate.errors).toEqual([]);
  });
});

describe('the command line', () => {
  /** Every table file of an export the same bytes as the export core wrote in this process (the codebook says when it was made). */
  function expectSameTables(out: string, format: ExportFormat): void {
    for (const type of EXPORT_TYPES) {
      const file = `${type}.${format}`;
      expect(fs.readFileSync(path.join(out, file)).equals(fs.readFileSync(path.join(dir, format, file))), file).toBe(true);
    }
  }

  it('--type all --format parquet writes every table and the codebook, private (0600 files in a 0700 folder); the machine\'s zone changes nothing', async () => {
    const out = path.join(dir, 'cli', 'all');
    const res = await runCli(['--db', dbFile, 'export', '--from', RANGE.from, '--to', RANGE.to, '--type', 'all', '--format', 'parquet', '--out', out], {
      env: { WEARHOOK_CONFIG_DIR: dir, TZ: 'Asia/Tokyo' },
    });
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([...EXPORT_TYPES.map((t) => `${t}.parquet`), 'datapackage.json'].sort());
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
    for (const file of fs.readdirSync(out)) expect(fs.statSync(path.join(out, file)).mode & 0o777, file).toBe(0o600);
    expect(res.stderr).toMatch(/wrote .*heart_rate\.parquet \(11 heart_rate rows\)/);
    expect(res.stderr).toMatch(/wrote .*datapackage\.json \(the codebook\)/);
    expect(res.stderr).not.toMatch(/tables \|/); // no progress bar in a pipe
    expectSameTables(out, 'parquet');
  });

  it('shows a progress bar on a terminal: tables done, the table, rows written', async () => {
    const out = path.join(dir, 'cli', 'tty');
    const args = [process.execPath, BIN, '--db', dbFile, 'export', '--from', RANGE.from, '--to', RANGE.to, '--type', 'all', '--out', out];
    const res = await runOnTerminal(args.map(shellQuote).join(' '), { WEARHOOK_CONFIG_DIR: dir, TZ: 'America/New_York' });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toMatch(/\d+\/22 tables \| [a-z_0-9]+ \| [\d,]+ rows/);
    expectSameTables(out, 'csv');
  });
});
