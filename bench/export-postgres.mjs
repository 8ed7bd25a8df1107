// Export from PostgreSQL: `wearhook export --db postgres://... --type hrv` of 1M HRV rows (rows
// per second, peak memory) against psql's `\copy (<the equivalent query>) to stdout csv` over
// the same database, on a server of wearhook's own (scripts/postgres-server.mjs). The data is
// bench/export.mjs's (Oura sleep documents with 100 HRV items each), seeded into SQLite and
// moved with `db copy`'s core, so the SQLite export of the same file is measured beside it.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { copyDatabase } from '../dist/store/copy.js';
import { findPostgresBin, startPostgresServer } from '../scripts/postgres-server.mjs';
import { seed } from './export.mjs';
import { BIN, commandExists, measure, round, tempDir } from './lib.mjs';

const HRV_ITEMS = 100;

/**
 * The first edition's HRV columns, as bench/export.mjs asks the sqlite3 shell for them: each
 * non-null item of a sleep's `hrv.items` with its local time (start + index x interval), in
 * the export's order. Each document's JSON is parsed once (`OFFSET 0` keeps PostgreSQL from
 * inlining the cast into every item's expressions, which took 5x longer).
 */
const HRV_SQL = `SELECT d.provider, d.user_id, d.day,
  to_char(d.t0 + (i.ord - 1) * d.step, 'YYYY-MM-DD"T"HH24:MI:SS') AS timestamp, i.value AS rmssd_ms, d.id AS source_id
FROM (SELECT provider, user_id, day, id, start_time::timestamptz AS start, (j #>> '{hrv,timestamp}')::timestamp AS t0,
             (j #>> '{hrv,interval}')::int * interval '1 second' AS step, j #> '{hrv,items}' AS items
      FROM (SELECT provider, user_id, day, id, start_time, data::jsonb AS j FROM documents
            WHERE provider = 'oura' AND type = 'sleep' AND deleted = 0 AND superseded_by_run IS NULL AND day BETWEEN '1900-01-01' AND '2999-12-31' OFFSET 0) x) d,
     jsonb_array_elements_text(d.items) WITH ORDINALITY AS i(value, ord)
WHERE i.value IS NOT NULL
ORDER BY d.user_id, d.day, d.start, i.ord`;

function psqlPath() {
  try {
    const own = path.join(findPostgresBin(), 'psql');
    if (fs.existsSync(own)) return own;
  } catch {
    // no server binaries: the benchmark is skipped below
  }
  return commandExists('psql') ? 'psql' : null;
}

function countLines(file) {
  const out = spawnSync('wc', ['-l', file], { encoding: 'utf8' });
  return Number(out.stdout.trim().split(/\s+/)[0]);
}

async function exportRun(db, dir, format) {
  const out = path.join(dir, `hrv.${format}`);
  const m = await measure(process.execPath, [BIN, '--db', db, 'export', '--from', '1900-01-01', '--to', '2999-12-31', '--type', 'hrv', '--format', format, '--out', out]);
  const rows = Number(/\((\d+) \w+ rows\)/.exec(m.stderr)?.[1] ?? NaN);
  fs.rmSync(out);
  return { rows, ms: round(m.ms), rows_per_s: Math.round(rows / (m.ms / 1000)), peak_mib: round(m.peakMiB, 1) };
}

async function psqlRun(psql, url, dir) {
  const out = path.join(dir, 'psql.csv');
  const m = await measure(psql, ['-X', '-q', url, '-c', `\\copy (${HRV_SQL.replace(/\n/g, ' ')}) to stdout csv header`], { stdoutFile: out });
  const rows = countLines(out) - 1;
  fs.rmSync(out);
  return { rows, ms: round(m.ms), rows_per_s: Math.round(rows / (m.ms / 1000)), peak_mib: round(m.peakMiB, 1) };
}

/** Statistics for the planner, as autovacuum would gather them soon after a copy. */
async function analyze(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

export async function benchExportPostgres({ log = () => {} } = {}) {
  const psql = psqlPath();
  const result = { psql: psql !== null, growth: [] };
  if (!psql) return result;
  const dir = tempDir();
  const server = await startPostgresServer();
  try {
    for (const docs of [100, 10_000]) {
      const file = path.join(dir, `hrv-${docs}.db`);
      log(`seeding ${docs} sleep documents (${docs * HRV_ITEMS} HRV items) and copying them into PostgreSQL`);
      seed(file, docs, HRV_ITEMS);
      const url = await server.createDatabase(`bench_export_${docs}`);
      await copyDatabase(file, url);
      await analyze(url);
      const csv = await exportRun(url, dir, 'csv');
      result.growth.push({ rows: csv.rows, ms: csv.ms, peak_mib: csv.peak_mib });
      if (docs === 10_000) {
        log('export 1M HRV rows from PostgreSQL: csv, parquet, psql \\copy, and csv from the SQLite file');
        result.csv = csv;
        result.parquet = await exportRun(url, dir, 'parquet');
        result.psql_copy_csv = await psqlRun(psql, url, dir);
        result.ratio_csv_vs_psql = round(result.csv.rows_per_s / result.psql_copy_csv.rows_per_s);
        result.ratio_parquet_vs_psql = round(result.parquet.rows_per_s / result.psql_copy_csv.rows_per_s);
        result.sqlite_csv = await exportRun(file, dir, 'csv');
      }
      fs.rmSync(file, { force: true });
    }
    return result;
  } finally {
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
