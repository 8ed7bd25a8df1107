import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { upsertDocument } from '../../src/store/documents.js';
import { copyDatabase } from '../../src/store/copy.js';
import { runExport } from '../../src/export/export.js';
import { EXPORT_TYPES } from '../../src/export/names.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { adminQuery, newPostgresDatabase } from '../helpers/postgres.js';
import * as study from '../fixtures/export-study.js';

/**
 * `wearhook export --db postgres://...` writes the same bytes as the export of the same data
 * from SQLite: the study of test/export-tables.test.ts (every table, every provider, the New
 * York night of the change to summer time, a participant's label and zone) is seeded into a
 * SQLite file, copied into PostgreSQL with `db copy`'s core, and exported from both.
 */

const RANGE = ['--from', '2026-03-01', '--to', '2026-03-31'];
let dir: string;
let sqliteFile: string;
let url: string;

beforeAll(async () => {
  dir = tempDir();
  sqliteFile = path.join(dir, 'study.db');
  study.seedStudy(sqliteFile);
  // Workouts of one day whose order depends on reading a start time without an offset as UTC
  // (as SQLite does) whatever the server's zone: 10:00 (UTC) comes after 05:00Z; and a start
  // that is no time at all, which sorts first on both engines rather than failing the export.
  const db = openDatabase(sqliteFile);
  for (const [id, start] of [['w-no-offset', '2026-03-10T10:00:00'], ['w-utc', '2026-03-10T05:00:00Z'], ['w-garbled', 'soon']] as const) {
    upsertDocument(db, {
      provider: 'oura', type: 'workout', id, userId: 'oura-order', day: '2026-03-10', startTime: start,
      data: { id, day: '2026-03-10', activity: 'walking', start_datetime: start, end_datetime: start, source: 'manual', intensity: 'easy', calories: 1, distance: 1, label: null },
      source: 'sync',
    }, study.RETRIEVED);
  }
  db.close();
  url = await newPostgresDatabase();
  await adminQuery(`ALTER DATABASE "${new URL(url).pathname.slice(1)}" SET timezone = 'Asia/Tokyo'`);
  await copyDatabase(sqliteFile, url);
});

function filesOf(folder: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(folder).sort().map((name) => [name, fs.readFileSync(path.join(folder, name))]));
}

describe('export on PostgreSQL', () => {
  it('every table, as CSV and Parquet, is byte for byte the export of the same data from SQLite', async () => {
    for (const format of ['csv', 'parquet'] as const) {
      const fromSqlite = path.join(dir, `sqlite-${format}`);
      const db = openDatabase(sqliteFile);
      try {
        await runExport(db, { from: '2026-03-01', to: '2026-03-31', types: [...EXPORT_TYPES], format, out: fromSqlite });
      } finally {
        db.close();
      }
      const fromPostgres = path.join(dir, `postgres-${format}`);
      const cli = await runCli(['--db', url, 'export', ...RANGE, '--type', 'all', '--format', format, '--out', fromPostgres]);
      expect(cli.stderr).toContain('(the codebook)');
      expect(cli.code).toBe(0);

      const expected = filesOf(fromSqlite);
      const actual = filesOf(fromPostgres);
      expect([...actual.keys()]).toEqual([...expected.keys()]);
      expect([...actual.keys()]).toHaveLength(EXPORT_TYPES.length + 1); // and datapackage.json
      for (const [name, bytes] of expected) {
        if (name === 'datapackage.json') continue; // it names the export's time
        expect({ name, same: actual.get(name)!.equals(bytes) }).toEqual({ name, same: true });
      }
    }
    const csv = (name: string) => fs.readFileSync(path.join(dir, 'postgres-csv', name), 'utf8');
    // Not empty: the DST night's epochs in the participant's zone, with her label.
    expect(csv('sleep_stages.csv')).toContain('2026-03-08T03:00:00-04:00');
    expect(csv('sleep_stages.csv')).toContain(study.LABEL);
    const workouts = csv('workouts.csv').split('\r\n').filter((line) => line.includes('oura-order'));
    expect(workouts.map((line) => /w-[a-z-]+/.exec(line)![0])).toEqual(['w-garbled', 'w-utc', 'w-no-offset']);
  });

  it('--participant and --user select the same rows on both engines', async () => {
    const args = [...RANGE, '--type', 'hrv', '--format', 'ndjson', '--participant', study.LABEL, '--out', '-'];
    const [fromSqlite, fromPostgres] = await Promise.all([runCli(['--db', sqliteFile, 'export', ...args]), runCli(['--db', url, 'export', ...args])]);
    expect(fromPostgres.code).toBe(0);
    expect(fromPostgres.stdout.split('\n').length).toBeGreaterThan(2);
    expect(fromPostgres.stdout).toBe(fromSqlite.stdout);
    const unknown = await runCli(['--db', url, 'export', ...RANGE, '--type', 'hrv', '--participant', 'nobody']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('No participant "nobody"');
  });
});
