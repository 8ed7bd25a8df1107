// Export: rows per second and peak memory of `wearhook export`, against the sqlite3 shell's
// `-csv` output of the same query over the same file (when the shell is installed).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDatabase } from '../dist/store/db.js';
import { BIN, commandExists, measure, round, tempDir } from './lib.mjs';

const USERS = 10;
const HRV_ITEMS = 100;

function sleepDocument(userIndex, dayIndex, hrvItems) {
  const day = new Date(Date.UTC(2000, 0, 1) + dayIndex * 86_400_000).toISOString().slice(0, 10);
  const start = `${day}T00:10:00.000+01:00`;
  return {
    id: `sleep-${userIndex}-${dayIndex}`,
    day,
    type: 'long_sleep',
    bedtime_start: start,
    bedtime_end: `${day}T07:40:00.000+01:00`,
    total_sleep_duration: 24000 + (dayIndex % 600),
    time_in_bed: 27000,
    deep_sleep_duration: 4800,
    light_sleep_duration: 13200,
    rem_sleep_duration: 6000,
    awake_time: 3000,
    efficiency: 88,
    latency: 600,
    average_heart_rate: 54.25,
    lowest_heart_rate: 47,
    average_hrv: 45,
    average_breath: 14.5,
    hrv: { interval: 300, timestamp: start, items: Array.from({ length: hrvItems }, (_, i) => (i % 17 === 0 ? null : 30 + ((i * 7) % 40))) },
  };
}

/** A database with `docs` Oura sleep documents spread over USERS users. */
export function seed(file, docs, hrvItems) {
  const db = openDatabase(file);
  const insert = db.prepare(
    `INSERT INTO documents (provider, type, id, user_id, day, start_time, data, updated_at, deleted, source, version, retrieved_at)
     VALUES ('oura', 'sleep', ?, ?, ?, ?, ?, '2026-01-01T00:00:00.000Z', 0, 'sync', 1, '2026-01-01T00:00:00.000Z')`,
  );
  db.transaction(() => {
    for (let i = 0; i < docs; i++) {
      const user = i % USERS;
      const doc = sleepDocument(user, Math.floor(i / USERS), hrvItems);
      insert.run(doc.id, `user-${user}`, doc.day, doc.bedtime_start, JSON.stringify(doc));
    }
  })();
  db.close();
}

// The baselines: the sqlite3 shell's CSV of the first edition's columns, as in every earlier run
// (so that ratios compare across runs), and of the same columns wearhook writes now (the second
// edition's UTC twins and provenance, as far as SQL can say them), which costs the shell more.
const HRV_FROM = `FROM documents d, json_each(d.data, '$.hrv.items') j
WHERE d.provider = 'oura' AND d.type = 'sleep' AND d.deleted = 0 AND d.superseded_by_run IS NULL AND d.day BETWEEN '1900-01-01' AND '2999-12-31' AND j.value IS NOT NULL
ORDER BY d.user_id, d.day, unixepoch(d.start_time, 'subsec'), j.key;`;

const HRV_SQL = `SELECT d.provider, d.user_id, d.day,
  strftime('%Y-%m-%dT%H:%M:%S', json_extract(d.data, '$.hrv.timestamp'), '+' || (j.key * json_extract(d.data, '$.hrv.interval')) || ' seconds') AS timestamp,
  j.value AS rmssd_ms, d.id AS source_id
${HRV_FROM}`;

const HRV_SQL_SAME_COLUMNS = `SELECT d.provider, d.user_id, d.day,
  strftime('%Y-%m-%dT%H:%M:%S', json_extract(d.data, '$.hrv.timestamp'), substr(json_extract(d.data, '$.hrv.timestamp'), -6),
           '+' || (j.key * json_extract(d.data, '$.hrv.interval')) || ' seconds') || substr(json_extract(d.data, '$.hrv.timestamp'), -6) AS timestamp,
  j.value AS rmssd_ms, d.id AS source_id,
  strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(d.data, '$.hrv.timestamp'), '+' || (j.key * json_extract(d.data, '$.hrv.interval')) || ' seconds') AS timestamp_utc,
  60 AS utc_offset_min, d.source, d.retrieved_at, d.version, NULL AS label, d.id AS sleep_id, json_extract(d.data, '$.type') AS sleep_type, 'false' AS time_uncertain
${HRV_FROM}`;

const SLEEP_COLUMNS = `d.provider, d.user_id, d.day, json_extract(d.data, '$.bedtime_start'), json_extract(d.data, '$.bedtime_end'),
  json_extract(d.data, '$.type'), json_extract(d.data, '$.total_sleep_duration'), json_extract(d.data, '$.time_in_bed'),
  json_extract(d.data, '$.deep_sleep_duration'), json_extract(d.data, '$.light_sleep_duration'), json_extract(d.data, '$.rem_sleep_duration'),
  json_extract(d.data, '$.awake_time'), json_extract(d.data, '$.efficiency'), json_extract(d.data, '$.latency'),
  json_extract(d.data, '$.average_heart_rate'), json_extract(d.data, '$.lowest_heart_rate'), json_extract(d.data, '$.average_hrv'),
  json_extract(d.data, '$.average_breath'), d.id`;

const SLEEP_FROM = `FROM documents d
WHERE d.provider = 'oura' AND d.type = 'sleep' AND d.deleted = 0 AND d.superseded_by_run IS NULL AND d.day BETWEEN '1900-01-01' AND '2999-12-31'
  AND json_extract(d.data, '$.type') NOT IN ('deleted', 'rest')
ORDER BY d.user_id, d.day, unixepoch(d.start_time, 'subsec');`;

const SLEEP_SQL = `SELECT ${SLEEP_COLUMNS}
${SLEEP_FROM}`;

const SLEEP_SQL_SAME_COLUMNS = `SELECT ${SLEEP_COLUMNS},
  strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(d.data, '$.bedtime_start')), strftime('%Y-%m-%dT%H:%M:%SZ', json_extract(d.data, '$.bedtime_end')),
  60, d.source, d.retrieved_at, d.version, NULL, json_extract(d.data, '$.type') = 'long_sleep', 'false',
  json_extract(d.data, '$.sleep_algorithm_version'), json_extract(d.data, '$.sleep_analysis_reason')
${SLEEP_FROM}`;

function countLines(file) {
  const out = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  return Number(out.stdout.trim().split(/\s+/)[0]);
}

async function exportRun(db, dir, type, format) {
  const out = path.join(dir, `${type}.${format}`);
  const m = await measure(process.execPath, [BIN, '--db', db, 'export', '--from', '1900-01-01', '--to', '2999-12-31', '--type', type, '--format', format, '--out', out]);
  // The row count the export reports (Parquet and JSON are not one row a line).
  const rows = Number(/\((\d+) \w+ rows\)/.exec(m.stderr)?.[1] ?? NaN);
  const bytes = fs.statSync(out).size;
  fs.rmSync(out);
  return { rows, ms: round(m.ms), rows_per_s: Math.round(rows / (m.ms / 1000)), peak_mib: round(m.peakMiB, 1), mib: round(bytes / 2 ** 20, 1) };
}

async function sqliteRun(db, dir, sql) {
  const out = path.join(dir, 'sqlite.csv');
  const m = await measure('sqlite3', ['-csv', '-header', db, sql], { stdoutFile: out });
  const rows = countLines(out) - 1;
  fs.rmSync(out);
  return { rows, ms: round(m.ms), rows_per_s: Math.round(rows / (m.ms / 1000)), peak_mib: round(m.peakMiB, 1) };
}

export async function benchExport({ log = () => {} } = {}) {
  const dir = tempDir();
  const hasSqlite = commandExists('sqlite3');
  const result = { sqlite3_shell: hasSqlite, hrv: {}, sleep: {}, growth: [] };
  try {
    // How time and memory grow with size: 10^4, 10^5, 10^6 HRV rows, in every format.
    for (const docs of [100, 1_000, 10_000]) {
      const db = path.join(dir, `hrv-${docs}.db`);
      log(`seeding ${docs} sleep documents (${docs * HRV_ITEMS} HRV items)`);
      seed(db, docs, HRV_ITEMS);
      const runs = {};
      for (const format of ['csv', 'ndjson', 'json', 'parquet']) runs[format] = await exportRun(db, dir, 'hrv', format);
      result.growth.push({ rows: runs.csv.rows, ms: runs.csv.ms, rows_per_s: runs.csv.rows_per_s, peak_mib: runs.csv.peak_mib, formats: runs });
      if (docs === 10_000) {
        log('export 1M HRV rows: csv, ndjson, json, parquet, sqlite3 -csv');
        Object.assign(result.hrv, runs);
        if (hasSqlite) {
          result.hrv.sqlite3_csv = await sqliteRun(db, dir, HRV_SQL);
          result.hrv.ratio_csv_vs_sqlite3 = round(result.hrv.csv.rows_per_s / result.hrv.sqlite3_csv.rows_per_s);
          result.hrv.ratio_parquet_vs_sqlite3 = round(result.hrv.parquet.rows_per_s / result.hrv.sqlite3_csv.rows_per_s);
          result.hrv.sqlite3_csv_same_columns = await sqliteRun(db, dir, HRV_SQL_SAME_COLUMNS);
          result.hrv.ratio_csv_vs_sqlite3_same_columns = round(result.hrv.csv.rows_per_s / result.hrv.sqlite3_csv_same_columns.rows_per_s);
        }
      }
      fs.rmSync(db, { force: true });
    }
    const db = path.join(dir, 'sleep.db');
    log('seeding 100,000 sleep documents');
    seed(db, 100_000, 0);
    log('export 100k sleep rows: csv, ndjson, sqlite3 -csv');
    result.sleep.csv = await exportRun(db, dir, 'sleep', 'csv');
    result.sleep.ndjson = await exportRun(db, dir, 'sleep', 'ndjson');
    if (hasSqlite) {
      result.sleep.sqlite3_csv = await sqliteRun(db, dir, SLEEP_SQL);
      result.sleep.ratio_csv_vs_sqlite3 = round(result.sleep.csv.rows_per_s / result.sleep.sqlite3_csv.rows_per_s);
      result.sleep.sqlite3_csv_same_columns = await sqliteRun(db, dir, SLEEP_SQL_SAME_COLUMNS);
      result.sleep.ratio_csv_vs_sqlite3_same_columns = round(result.sleep.csv.rows_per_s / result.sleep.sqlite3_csv_same_columns.rows_per_s);
    }
    const [small, , large] = result.growth;
    result.growth_time_ratio_1e6_vs_1e4 = round(large.ms / small.ms);
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
