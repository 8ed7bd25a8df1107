import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { upsertDocument } from '../src/store/documents.js';
import { vitalWork } from '../src/providers/vital/webhook.js';
import { ouraDocumentInput } from '../src/providers/oura/documents.js';
import { columnsOf, DEFAULT_EXPORT_TYPES as EXPORT_TYPES } from '../src/export/tables.js';
import { runCli, tempDir } from './helpers/cli.js';
import { ouraActivity, ouraReadiness, ouraSleep } from './fixtures/documents.js';
import { testDatabase } from './helpers/engine.js';

/**
 * Local time in exports: every local timestamp carries the offset in force at its instant,
 * `day` is the provider's local day, and nothing depends on the machine's own zone (nor, on
 * PostgreSQL, the server's: this file runs on both engines, vitest.config.ts BOTH_ENGINES).
 */

const MACHINE_ZONES = ['UTC', 'Asia/Tokyo', 'America/New_York'];
const HOUR = 3_600_000;

/** An Oura night with one HRV item every 5 minutes from bedtime to wake-up. */
function ouraNight(id: string, day: string, start: string, end: string, hrvStart = start) {
  const items = Array.from({ length: (Date.parse(end) - Date.parse(start)) / 300_000 + 1 }, (_, i) => 40 + (i % 7));
  return { ...ouraSleep, id, day, type: 'long_sleep', bedtime_start: start, bedtime_end: end, hrv: { interval: 300, items, timestamp: hrvStart } };
}

const AMSTERDAM = ouraNight('ams', '2026-10-25', '2026-10-24T23:00:00+02:00', '2026-10-25T07:00:00+01:00', '2026-10-24T23:00:00.000+02:00');
const NEW_YORK = ouraNight('nyc', '2026-03-08', '2026-03-07T23:00:00-05:00', '2026-03-08T07:00:00-04:00');
/** Written without an offset: a local time of the night, never of the machine. */
const BARE = ouraNight('bare', '2026-07-02', '2026-07-01T23:00:00-04:00', '2026-07-02T01:00:00-04:00', '2026-07-01T23:00:00.000');
const REST = { ...ouraNight('rest', '2026-07-02', '2026-07-02T13:00:00-04:00', '2026-07-02T13:20:00-04:00'), type: 'rest' };
/** A Vital evening sleep in New York: UTC bedtimes on March 3rd, which is still March 2nd there. */
const VITAL_NY = {
  id: 'vital-ny', user_id: 'vu-ny', bedtime_start: '2026-03-03T01:00:00+00:00', bedtime_stop: '2026-03-03T03:30:00+00:00', timezone_offset: -18000,
  type: 'short_sleep', duration: 9000, total: 8400, awake: 600, light: 5000, rem: 1700, deep: 1700, efficiency: 93, source: { provider: 'garmin' },
};

let dir: string;
let db: string;

beforeAll(async () => {
  dir = tempDir();
  db = await testDatabase(dir, (store) => {
    for (const night of [AMSTERDAM, NEW_YORK, BARE, REST]) upsertDocument(store, ouraDocumentInput('sleep', 'u-oura', night, 'sync'));
    upsertDocument(store, ouraDocumentInput('daily_readiness', 'u-oura', ouraReadiness, 'sync'));
    upsertDocument(store, ouraDocumentInput('daily_activity', 'u-oura', ouraActivity, 'sync'));
    // Through Vital's own normalisation, as a delivery would be stored.
    const work = vitalWork({ event_type: 'daily.data.sleep.created', user_id: 'vu-ny', data: VITAL_NY });
    if (work.kind !== 'store') throw new Error('expected documents');
    for (const doc of work.documents) upsertDocument(store, doc);
  });
});

/** Every table of 2026 as JSON, exported by one CLI run on a machine in `tz`. */
async function exportAll(tz: string): Promise<Record<string, Record<string, unknown>[]>> {
  const out = path.join(dir, `json-${tz.replace('/', '-')}`);
  const res = await runCli(['--db', db, 'export', '--from', '2026-01-01', '--to', '2026-12-31', '--format', 'json', '--out', out], { env: { WEARHOOK_CONFIG_DIR: dir, TZ: tz } });
  expect(res.code, res.stderr).toBe(0);
  return Object.fromEntries(EXPORT_TYPES.map((type) => [type, JSON.parse(fs.readFileSync(path.join(out, `${type}.json`), 'utf8'))]));
}

/** Each local timestamp is the instant of its UTC twin, and the rows follow the instants. */
function expectConsistent(rows: Record<string, unknown>[]): void {
  let previous = -Infinity;
  for (const row of rows) {
    const instant = Date.parse(row.timestamp as string);
    expect(instant).toBe(Date.parse(row.timestamp_utc as string));
    expect(row.timestamp_utc).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(instant).toBeGreaterThan(previous);
    previous = instant;
  }
}

for (const tz of MACHINE_ZONES) {
  describe(`on a machine in ${tz}`, () => {
    let tables: Record<string, Record<string, unknown>[]>;
    beforeAll(async () => {
      tables = await exportAll(tz);
    });
    const exportJson = async (type: string, from: string, to: string) =>
      tables[type]!.filter((r) => (r.day as string) >= from && (r.day as string) <= to);

    it('Amsterdam 2026-10-25: HRV switches from +02:00 to +01:00 at 01:00Z, and ends on bedtime_end', async () => {
      const rows = (await exportJson('hrv', '2026-10-25', '2026-10-25')).filter((r) => r.source_id === 'ams');
      expect(rows).toHaveLength(AMSTERDAM.hrv.items.length);
      expectConsistent(rows);
      const byUtc = new Map(rows.map((r) => [r.timestamp_utc, r]));
      expect(byUtc.get('2026-10-25T00:55:00Z')).toMatchObject({ timestamp: '2026-10-25T02:55:00+02:00', utc_offset_min: 120 });
      expect(byUtc.get('2026-10-25T01:00:00Z')).toMatchObject({ timestamp: '2026-10-25T02:00:00+01:00', utc_offset_min: 60 });
      expect(rows.at(-1)).toMatchObject({ timestamp: AMSTERDAM.bedtime_end, timestamp_utc: '2026-10-25T06:00:00Z' });
      expect(rows.every((r) => r.time_uncertain === false && r.sleep_id === 'ams' && r.sleep_type === 'long_sleep' && r.day === '2026-10-25')).toBe(true);
      // After the change, local wall-clock times sort with their instants up to wake-up (07:00+01:00).
      const after = rows.filter((r) => (r.utc_offset_min as number) === 60).map((r) => r.timestamp as string);
      expect([...after].sort()).toEqual(after);
      expect(after.every((t) => t <= AMSTERDAM.bedtime_end)).toBe(true);
    });

    it('New York 2026-03-08: HRV switches from -05:00 to -04:00 at 07:00Z, no 02:xx, and the night is flagged uncertain (Havana)', async () => {
      const rows = (await exportJson('hrv', '2026-03-08', '2026-03-08')).filter((r) => r.source_id === 'nyc');
      expectConsistent(rows);
      const byUtc = new Map(rows.map((r) => [r.timestamp_utc, r]));
      expect(byUtc.get('2026-03-08T06:55:00Z')).toMatchObject({ timestamp: '2026-03-08T01:55:00-05:00', utc_offset_min: -300 });
      expect(byUtc.get('2026-03-08T07:00:00Z')).toMatchObject({ timestamp: '2026-03-08T03:00:00-04:00', utc_offset_min: -240 });
      expect(rows.filter((r) => (r.timestamp as string).startsWith('2026-03-08T02:'))).toEqual([]);
      expect([...rows.map((r) => r.timestamp as string)].sort()).toEqual(rows.map((r) => r.timestamp));
      expect(rows.every((r) => r.time_uncertain === true)).toBe(true);
      const [sleep] = (await exportJson('sleep', '2026-03-08', '2026-03-08')).filter((r) => r.source_id === 'nyc');
      expect(sleep).toMatchObject({ bedtime_start: NEW_YORK.bedtime_start, bedtime_end: NEW_YORK.bedtime_end, bedtime_start_utc: '2026-03-08T04:00:00Z', utc_offset_min: -300, time_uncertain: true });
    });

    it("a bare hrv.timestamp is the night's local time; a rest period's HRV is left out, as the period is left out of sleep", async () => {
      const rows = await exportJson('hrv', '2026-07-02', '2026-07-02');
      expect(rows.map((r) => r.source_id)).not.toContain('rest');
      expect(rows[0]).toMatchObject({ source_id: 'bare', timestamp: '2026-07-01T23:00:00-04:00', timestamp_utc: '2026-07-02T03:00:00Z', time_uncertain: false });
      const sleep = await exportJson('sleep', '2026-07-02', '2026-07-02');
      expect(sleep.map((r) => r.source_id)).toEqual(['bare']);
    });

    it('a Vital New York sleep: local bedtimes from timezone_offset, on its local day', async () => {
      const rows = await exportJson('sleep', '2026-03-02', '2026-03-03');
      expect(rows.find((r) => r.provider === 'vital')).toMatchObject({
        day: '2026-03-02',
        bedtime_start: '2026-03-02T20:00:00-05:00',
        bedtime_end: '2026-03-02T22:30:00-05:00',
        bedtime_start_utc: '2026-03-03T01:00:00Z',
        bedtime_end_utc: '2026-03-03T03:30:00Z',
        utc_offset_min: -300,
        is_main_sleep: false,
        time_uncertain: false,
      });
    });
  });
}

describe('CSV for pandas and R', () => {
  const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?[+-]\d{2}:\d{2}$/;
  let out: string;

  beforeAll(async () => {
    out = path.join(dir, 'csv');
    const res = await runCli(['--db', db, 'export', '--from', '2026-01-01', '--to', '2026-12-31', '--out', out], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code).toBe(0);
  });

  it('every table: its header, UTC columns in one form, local timestamps with offsets, booleans as true/false', () => {
    for (const type of EXPORT_TYPES) {
      const text = fs.readFileSync(path.join(out, `${type}.csv`), 'utf8');
      expect(text.split('\r\n')[0]).toBe(columnsOf(type).join(','));
      const records = parse(text, { columns: true }) as Record<string, string>[];
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) {
        for (const [column, value] of Object.entries(record)) {
          if (column.endsWith('_utc')) expect(value).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
          if (['bedtime_start', 'bedtime_end', 'timestamp'].includes(column)) expect(value).toMatch(TIMESTAMP);
          if (['is_main_sleep', 'time_uncertain'].includes(column)) expect(['true', 'false']).toContain(value);
          if (column === 'retrieved_at') expect(Number.isNaN(Date.parse(value))).toBe(false);
          if (column === 'utc_offset_min' && value !== '') expect(value).toMatch(/^-?\d+$/);
        }
      }
    }
  });

  it('pandas reads every CSV with parse_dates on the _utc columns, without a warning (when Python has pandas)', () => {
    const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0);
    if (!python) return; // The shape above is what pandas needs; this checks it with pandas itself where it is installed.
    const script = `
import sys, warnings
import pandas as pd
warnings.simplefilter('error')
for name in ${JSON.stringify([...EXPORT_TYPES])}:
    path = sys.argv[1] + '/' + name + '.csv'
    utc = [c for c in pd.read_csv(path, nrows=0).columns if c.endswith('_utc')]
    frame = pd.read_csv(path, parse_dates=utc)
    for c in utc:
        assert str(frame[c].dtype).startswith('datetime64'), (name, c, str(frame[c].dtype))
    print(name, len(frame), utc)
`;
    const run = spawnSync(python, ['-c', script, out], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("hrv ");
  });
});
