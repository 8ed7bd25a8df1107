// Every export table: `wearhook export --type T --format csv` rows per second against the sqlite3
// shell's `-csv` output of the equivalent query over the same file (the same documents or
// samples, the same columns as far as SQL can say them, the same order).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { openDatabase } from '../dist/store/db.js';
import { EXPORT_TYPES } from '../dist/export/names.js';
import { fileURLToPath } from 'node:url';
import { BIN, commandExists, measure, median, round, tempDir } from './lib.mjs';

const USERS = 10;
/** Documents per daily type: rows of a one-row-per-document table. */
const DAYS = Number(process.env.BENCH_TABLES_DAYS ?? 10_000);
const DAY_MS = 86_400_000;
const RETRIEVED = '2026-01-01T00:00:00.000Z';

const dayOf = (i) => new Date(Date.UTC(2000, 0, 1) + i * DAY_MS).toISOString().slice(0, 10);

/** One Oura document of each type for (user, day); series are two items long, so series tables have 2 rows per document. */
function ouraDocuments(user, i) {
  const day = dayOf(i);
  const at = (time) => `${day}T${time}+01:00`;
  return {
    sleep: {
      id: `sleep-${user}-${i}`, day, type: 'long_sleep', bedtime_start: at('00:10:00'), bedtime_end: at('07:40:00'), total_sleep_duration: 24000 + (i % 600),
      time_in_bed: 27000, deep_sleep_duration: 4800, light_sleep_duration: 13200, rem_sleep_duration: 6000, awake_time: 3000, efficiency: 88, latency: 600,
      average_heart_rate: 54.25, lowest_heart_rate: 47, average_hrv: 45, average_breath: 14.5, sleep_algorithm_version: 'v2',
      hrv: { interval: 300, timestamp: at('00:10:00.000'), items: [40, 42] }, heart_rate: { interval: 300, timestamp: at('00:10:00.000'), items: [55, 53] },
      sleep_phase_5_min: '42', movement_30_sec: '12',
    },
    daily_sleep: { id: `ds-${user}-${i}`, day, score: 80, timestamp: at('00:00:00'), contributors: { deep_sleep: 52, efficiency: 67, latency: 88, rem_sleep: 91, restfulness: 70, timing: 40, total_sleep: 12 } },
    daily_readiness: {
      id: `r-${user}-${i}`, day, score: 79, temperature_deviation: -0.12, temperature_trend_deviation: 0.05, timestamp: at('00:00:00'),
      contributors: { activity_balance: 81, body_temperature: 98, hrv_balance: 76, previous_day_activity: 50, previous_night: 70, recovery_index: 100, resting_heart_rate: 94, sleep_balance: 83 },
    },
    daily_activity: {
      id: `a-${user}-${i}`, day, score: 81, steps: 9876, active_calories: 412, total_calories: 2388, equivalent_walking_distance: 8210, high_activity_time: 120,
      medium_activity_time: 1500, low_activity_time: 9900, sedentary_time: 31000, resting_time: 25200, non_wear_time: 3600, timestamp: at('04:00:00'),
      met: { interval: 60, timestamp: at('04:00:00.000'), items: [0.9, 1.2] }, class_5_min: '23',
    },
    daily_spo2: { id: `o-${user}-${i}`, day, spo2_percentage: { average: 96.5 }, breathing_disturbance_index: 7 },
    daily_stress: { id: `st-${user}-${i}`, day, stress_high: 5400, recovery_high: 3600, day_summary: 'normal' },
    daily_resilience: { id: `re-${user}-${i}`, day, level: 'solid', contributors: { sleep_recovery: 62.5, daytime_recovery: 40.25, stress: 55 } },
    daily_cardiovascular_age: { day, vascular_age: 41 },
    vo2_max: { id: `v-${user}-${i}`, day, timestamp: at('09:00:00'), vo2_max: 44.2 },
    workout: { id: `w-${user}-${i}`, day, activity: 'cycling', calories: 420.5, distance: 15000.5, intensity: 'moderate', source: 'manual', label: null, start_datetime: at('10:00:00'), end_datetime: at('11:00:00') },
    session: { id: `se-${user}-${i}`, day, type: 'meditation', mood: 'good', start_datetime: at('12:00:00'), end_datetime: at('12:10:00'), heart_rate: null },
    enhanced_tag: { id: `t-${user}-${i}`, tag_type_code: 'tag_generic_caffeine', start_time: at('08:30:00'), end_time: null, start_day: day, end_day: null, comment: null, custom_name: null },
    sleep_time: { id: `sl-${user}-${i}`, day, optimal_bedtime: { day_tz: 3600, start_offset: -1800, end_offset: 3600 }, recommendation: 'follow_optimal_bedtime', status: 'optimal_found' },
    rest_mode_period: { id: `rm-${user}-${i}`, start_day: day, end_day: day, start_time: at('17:00:00'), end_time: at('19:00:00'), episodes: [] },
    ring_configuration: { id: `ring-${user}-${i}`, color: 'silver', design: 'heritage', firmware_version: '2.9.21', hardware_type: 'gen3', set_up_at: `${day}T10:00:00+00:00`, size: 9 },
  };
}

/** Documents and samples for every table; returns nothing, writes `file`. */
export function seed(file) {
  const db = openDatabase(file);
  const doc = db.prepare(
    `INSERT INTO documents (provider, type, id, user_id, day, start_time, data, updated_at, deleted, source, version, retrieved_at)
     VALUES ('oura', ?, ?, ?, ?, ?, ?, '${RETRIEVED}', 0, 'sync', 1, '${RETRIEVED}')`,
  );
  const sample = db.prepare(
    `INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value, unit, source, retrieved_at, context)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'sync', '${RETRIEVED}', ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < DAYS; i++) {
      for (let u = 0; u < USERS; u++) {
        const user = `user-${u}`;
        for (const [type, d] of Object.entries(ouraDocuments(u, i))) {
          const start = d.bedtime_start ?? d.start_datetime ?? d.start_time ?? d.timestamp ?? null;
          doc.run(type, d.id ?? `${user}:${d.day}`, user, type === 'ring_configuration' ? null : d.day ?? d.start_day, start, JSON.stringify(d));
        }
        // Oura heart rate (UTC) and Corsano SpO2: two samples a day each.
        const day = dayOf(i);
        for (const [k, time] of [[0, '06:00:00'], [1, '18:00:00']]) {
          const ms = Date.parse(`${day}T${time}Z`);
          sample.run('oura', user, 'heart_rate', ms, `${day}T${time}+00:00`, day, 60 + k, 'bpm', 'awake');
          sample.run('corsano', user, 'spo2', ms, `${day}T${time}+00:00`, day, 97, '%', null);
        }
      }
    }
  })();
  db.close();
}

const ORDER_DOCS = 'ORDER BY d.user_id, d.day, unixepoch(d.start_time, \'subsec\')';
const RANGE = "d.day BETWEEN '1900-01-01' AND '2999-12-31'";
const PROV = "d.source, d.retrieved_at, d.version, NULL";
const j = (p) => `json_extract(d.data, '$.${p}')`;
const utc = (p) => `strftime('%Y-%m-%dT%H:%M:%SZ', ${j(p)})`;
const docs = (type, columns, extra = '') =>
  `SELECT d.provider, d.user_id, d.day, ${columns} FROM documents d WHERE d.provider = 'oura' AND d.type = '${type}' AND d.deleted = 0 AND d.superseded_by_run IS NULL AND ${RANGE}${extra} ${ORDER_DOCS};`;
/** A series of `path` items: local time and UTC from its timestamp + index x interval. */
const items = (type, path, columns) =>
  `SELECT d.provider, d.user_id, d.day,
     strftime('%Y-%m-%dT%H:%M:%S', ${j(`${path}.timestamp`)}, '+' || (e.key * ${j(`${path}.interval`)}) || ' seconds') || '+01:00', e.value, ${columns}
   FROM documents d, json_each(d.data, '$.${path}.items') e
   WHERE d.provider = 'oura' AND d.type = '${type}' AND d.deleted = 0 AND d.superseded_by_run IS NULL AND ${RANGE} AND e.value IS NOT NULL
   ${ORDER_DOCS}, e.key;`;
/** A string of one code per epoch (`sleep_phase_5_min`, ...): one row per character. */
const epochs = (type, field, start, seconds, columns) =>
  `SELECT d.provider, d.user_id, d.day,
     strftime('%Y-%m-%dT%H:%M:%S', ${j(start)}, '+' || (g.value * ${seconds}) || ' seconds') || '+01:00',
     CASE substr(${j(field)}, g.value + 1, 1) WHEN '1' THEN 'deep' WHEN '2' THEN 'light' WHEN '3' THEN 'rem' WHEN '4' THEN 'awake' END, d.id,
     strftime('%Y-%m-%dT%H:%M:%SZ', ${j(start)}, '+' || (g.value * ${seconds}) || ' seconds'), 60, ${PROV}, ${columns}
   FROM documents d JOIN generate_series(0, length(${j(field)}) - 1) g
   WHERE d.provider = 'oura' AND d.type = '${type}' AND d.deleted = 0 AND d.superseded_by_run IS NULL AND ${RANGE}
   ${ORDER_DOCS}, g.value;`;
const samples = (provider, series, columns) =>
  `SELECT s.provider, s.user_id, s.day, strftime('%Y-%m-%dT%H:%M:%S', s.timestamp) || '+00:00', s.value, ${columns}
   FROM samples s WHERE s.provider = '${provider}' AND s.series_type = '${series}' AND s.day BETWEEN '1900-01-01' AND '2999-12-31'
   ORDER BY s.user_id, s.day, s.epoch_ms;`;

/** The sqlite3 query equivalent to each table's export. */
export const SQL = {
  sleep: docs('sleep', `${['bedtime_start', 'bedtime_end', 'type', 'total_sleep_duration', 'time_in_bed', 'deep_sleep_duration', 'light_sleep_duration', 'rem_sleep_duration', 'awake_time', 'efficiency', 'latency', 'average_heart_rate', 'lowest_heart_rate', 'average_hrv', 'average_breath'].map(j).join(', ')}, d.id, ${utc('bedtime_start')}, ${utc('bedtime_end')}, 60, ${PROV}, ${j('type')} = 'long_sleep', 'false', ${j('sleep_algorithm_version')}, ${j('sleep_analysis_reason')}`, ` AND ${j('type')} NOT IN ('deleted', 'rest')`),
  hrv: items('sleep', 'hrv', `d.id, 'utc', 60, ${PROV}, d.id, ${j('type')}, 'false'`),
  readiness: docs('daily_readiness', `${['score', 'temperature_deviation', 'temperature_trend_deviation', ...['activity_balance', 'body_temperature', 'hrv_balance', 'previous_day_activity', 'previous_night', 'recovery_index', 'resting_heart_rate', 'sleep_balance'].map((c) => `contributors.${c}`)].map(j).join(', ')}, d.id, 60, ${PROV}`),
  activity: docs('daily_activity', `${['score', 'steps', 'active_calories', 'total_calories'].map(j).join(', ')}, NULL, ${['high_activity_time', 'medium_activity_time', 'low_activity_time', 'sedentary_time', 'resting_time', 'non_wear_time'].map(j).join(', ')}, d.id, 60, ${PROV}, ${j('equivalent_walking_distance')}`),
  daily_sleep: docs('daily_sleep', `${j('score')}, ${['deep_sleep', 'efficiency', 'latency', 'rem_sleep', 'restfulness', 'timing', 'total_sleep'].map((c) => j(`contributors.${c}`)).join(', ')}, d.id, 60, ${PROV}`),
  heart_rate: `SELECT * FROM (${samples('oura', 'heart_rate', `NULL, strftime('%Y-%m-%dT%H:%M:%SZ', s.timestamp), 0, s.source, s.retrieved_at, NULL, NULL, s.context, NULL, NULL, 'false'`).replace(/;$/, '').replace(/ORDER BY[^;]*$/, '')}
    UNION ALL ${items('sleep', 'heart_rate', `d.id, 'utc', 60, ${PROV}, 'sleep', 300, d.id, 'false'`).replace(/ORDER BY[^;]*;$/, '')}) ORDER BY 2, 3, 4;`,
  sleep_stages: epochs('sleep', 'sleep_phase_5_min', 'bedtime_start', 300, `g.value, ${j('type')}, 'false'`),
  sleep_movement: epochs('sleep', 'movement_30_sec', 'bedtime_start', 30, `g.value, ${j('type')}, 'false'`),
  met: items('daily_activity', 'met', `d.id, 'utc', 60, ${PROV}, 60, 'false'`),
  activity_class: epochs('daily_activity', 'class_5_min', 'timestamp', 300, `g.value, 'false'`),
  spo2: docs('daily_spo2', `${j('spo2_percentage.average')}, ${j('breathing_disturbance_index')}, d.id, NULL, ${PROV}`),
  stress: docs('daily_stress', `${['stress_high', 'recovery_high', 'day_summary'].map(j).join(', ')}, d.id, NULL, ${PROV}`),
  resilience: docs('daily_resilience', `${['level', 'contributors.sleep_recovery', 'contributors.daytime_recovery', 'contributors.stress'].map(j).join(', ')}, d.id, NULL, ${PROV}`),
  cardiovascular_age: docs('daily_cardiovascular_age', `${j('vascular_age')}, d.id, NULL, ${PROV}`),
  vo2_max: docs('vo2_max', `${j('vo2_max')}, d.id, 60, ${PROV}`),
  workouts: docs('workout', `${['start_datetime', 'end_datetime', 'activity', 'intensity'].map(j).join(', ')}, unixepoch(${j('end_datetime')}) - unixepoch(${j('start_datetime')}), ${j('calories')}, ${j('distance')}, NULL, d.id, ${utc('start_datetime')}, ${utc('end_datetime')}, 60, ${PROV}, ${j('source')}, ${j('label')}, 'false'`),
  sessions: docs('session', `${['start_datetime', 'end_datetime', 'type', 'mood'].map(j).join(', ')}, d.id, ${utc('start_datetime')}, ${utc('end_datetime')}, 60, ${PROV}, 'false'`),
  tags: docs('enhanced_tag', `${['start_time', 'end_time', 'tag_type_code'].map(j).join(', ')}, d.id, ${utc('start_time')}, ${utc('end_time')}, 60, ${PROV}, 'enhanced_tag', ${['end_day', 'custom_name', 'comment'].map(j).join(', ')}, 'false'`),
  sleep_time: docs('sleep_time', `${['optimal_bedtime.start_offset', 'optimal_bedtime.end_offset', 'recommendation', 'status'].map(j).join(', ')}, d.id, ${j('optimal_bedtime.day_tz')} / 60, ${PROV}`),
  rest_mode_periods: docs('rest_mode_period', `${['start_time', 'end_time'].map(j).join(', ')}, d.id, ${utc('start_time')}, ${utc('end_time')}, 60, ${PROV}, ${j('end_day')}, json_array_length(d.data, '$.episodes'), 'false'`),
  ring_configuration: `SELECT d.provider, d.user_id, substr(${j('set_up_at')}, 1, 10), ${utc('set_up_at')}, ${['hardware_type', 'firmware_version', 'design', 'color', 'size'].map(j).join(', ')}, d.id, 0, ${PROV}
    FROM documents d WHERE d.provider = 'oura' AND d.type = 'ring_configuration' AND d.deleted = 0 AND d.superseded_by_run IS NULL ORDER BY d.user_id, d.day, unixepoch(d.start_time, 'subsec');`,
  vital_signs: samples('corsano', 'spo2', `'spo2', s.value, s.unit, strftime('%Y-%m-%dT%H:%M:%SZ', s.timestamp), 60, s.source, s.retrieved_at, NULL, NULL, 'false'`),
};

function countLines(file) {
  const out = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  return Number(out.stdout.trim().split(/\s+/)[0]);
}

/** Runs of each command per table, interleaved; the median wall time of each is reported. */
const RUNS = Number(process.env.BENCH_TABLES_RUNS ?? 3);
const FLOOR = fileURLToPath(new URL('./export-floor.mjs', import.meta.url));

export async function benchExportTables({ log = () => {} } = {}) {
  const dir = tempDir();
  const result = { sqlite3_shell: commandExists('sqlite3'), documents_per_type: USERS * DAYS, runs: RUNS, tables: {} };
  if (!result.sqlite3_shell) return result;
  try {
    const db = path.join(dir, 'tables.db');
    log(`seeding ${USERS * DAYS} documents of each Oura type and ${USERS * DAYS * 2} samples of two series`);
    seed(db);
    for (const type of EXPORT_TYPES) {
      const out = path.join(dir, `${type}.csv`);
      const runs = { wearhook: [], sqlite3: [], floor: [] };
      const rows = {};
      let peakMiB = 0;
      // Interleaved, so that a change in the machine's load falls on all three alike.
      for (let run = 0; run < RUNS; run++) {
        const w = await measure(process.execPath, [BIN, '--db', db, 'export', '--from', '1900-01-01', '--to', '2999-12-31', '--type', type, '--format', 'csv', '--out', out]);
        runs.wearhook.push(w.ms);
        peakMiB = Math.max(peakMiB, w.peakMiB);
        rows.wearhook = countLines(out) - 1;
        fs.rmSync(out);
        const s = await measure('sqlite3', ['-csv', '-header', db, SQL[type]], { stdoutFile: out });
        runs.sqlite3.push(s.ms);
        rows.sqlite3 = countLines(out) - 1;
        fs.rmSync(out);
        const f = await measure(process.execPath, [FLOOR, db, type, out]);
        runs.floor.push(f.ms);
        fs.rmSync(out);
      }
      const perS = (n, ms) => Math.round(n / (ms / 1000));
      const wearhook = { rows: rows.wearhook, ms: round(median(runs.wearhook)), rows_per_s: perS(rows.wearhook, median(runs.wearhook)), peak_mib: round(peakMiB, 1) };
      const sqlite3 = { rows: rows.sqlite3, ms: round(median(runs.sqlite3)), rows_per_s: perS(rows.sqlite3, median(runs.sqlite3)) };
      // The floor reads the query's rows, of which a series table makes several export rows each: rated by the export's rows.
      const floor = { ms: round(median(runs.floor)), rows_per_s: perS(rows.wearhook, median(runs.floor)) };
      result.tables[type] = {
        csv: wearhook,
        sqlite3_csv: sqlite3,
        node_floor: floor,
        ratio: round(wearhook.rows_per_s / sqlite3.rows_per_s),
        floor_ratio: round(floor.rows_per_s / sqlite3.rows_per_s),
      };
      const t = result.tables[type];
      log(`  ${type}: ${wearhook.rows} rows ${wearhook.rows_per_s}/s vs sqlite3 ${sqlite3.rows} rows ${sqlite3.rows_per_s}/s = ${t.ratio} (node floor ${floor.rows_per_s}/s = ${t.floor_ratio})`);
    }
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
