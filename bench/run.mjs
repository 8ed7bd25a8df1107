#!/usr/bin/env node
// `npm run bench`: every benchmark, a table on stdout, and bench/results.json.
// Each figure stands next to a baseline measured in the same run on the same machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, fsyncMs, tempDir } from './lib.mjs';
import { benchStartup } from './startup.mjs';
import { benchExport } from './export.mjs';
import { benchExportTables } from './export-tables.mjs';
import { benchExportPostgres } from './export-postgres.mjs';
import { benchReceiver } from './receiver.mjs';
import { benchSync } from './sync.mjs';
import { benchReconcile } from './reconcile.mjs';

const only = new Set(process.argv.slice(2));
const want = (name) => only.size === 0 || only.has(name);
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const results = {
  date: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    load_average_at_start: os.loadavg().map((n) => Number(n.toFixed(2))),
    fsync_4k_median_ms: (() => {
      const dir = tempDir();
      try {
        return fsyncMs(dir);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    })(),
  },
};

if (want('startup')) {
  log('start-up');
  results.startup = await benchStartup();
}
if (want('receiver')) {
  log('receiver');
  results.receiver = await benchReceiver({ log });
}
if (want('export')) {
  log('export');
  results.export = await benchExport({ log });
}
if (want('export-tables')) {
  log('export-tables');
  results.export_tables = await benchExportTables({ log });
}

if (want('export-postgres')) {
  log('export-postgres');
  results.export_postgres = await benchExportPostgres({ log });
}

if (want('sync')) {
  log('sync');
  results.sync = await benchSync({ log });
}

if (want('reconcile')) {
  log('reconcile');
  results.reconcile = await benchReconcile({ log });
}

fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const rows = [];
if (results.startup) {
  const s = results.startup;
  rows.push(['start-up', '`wearhook --help` median ms', s.wearhook_help_ms, `node -e 0: ${s.node_e0_ms}`, s.ratio]);
}
if (results.receiver) {
  for (const [name, runs] of [['oura', results.receiver.oura], ['standard webhooks', results.receiver.standard_webhooks], ['standard webhooks on PostgreSQL', results.receiver.standard_webhooks_postgres ?? []]]) {
    for (const r of runs) {
      rows.push([`receiver ${name} c=${r.connections}`, 'deliveries/s (p50/p99 ms)', `${r.wearhook.per_s} (${r.wearhook.p50_ms}/${r.wearhook.p99_ms}), work done ${r.wearhook.work_drain_ms} ms after`,
        `bare node:http: ${r.bare.per_s} (${r.bare.p50_ms}/${r.bare.p99_ms})`, r.ratio_per_s]);
    }
  }
}
if (results.export) {
  const e = results.export;
  for (const [table, r] of [['hrv', e.hrv], ['sleep', e.sleep]]) {
    for (const fmt of ['csv', 'ndjson', 'json', 'parquet']) {
      if (!r[fmt]) continue;
      rows.push([`export ${table} ${fmt}`, `${r[fmt].rows} rows/s, peak MiB`, `${r[fmt].rows_per_s} (${r[fmt].peak_mib} MiB)`,
        r.sqlite3_csv ? `sqlite3 -csv: ${r.sqlite3_csv.rows_per_s} rows/s (${r.sqlite3_csv.peak_mib} MiB)` : 'sqlite3 not installed',
        r.sqlite3_csv ? Number((r[fmt].rows_per_s / r.sqlite3_csv.rows_per_s).toFixed(2)) : '-']);
    }
    if (r.sqlite3_csv_same_columns) {
      rows.push([`export ${table} csv, same columns`, `${r.csv.rows} rows/s`, `${r.csv.rows_per_s}`,
        `sqlite3 -csv of the same columns: ${r.sqlite3_csv_same_columns.rows_per_s} rows/s`, r.ratio_csv_vs_sqlite3_same_columns]);
    }
  }
  for (const g of e.growth) {
    for (const [fmt, f] of Object.entries(g.formats ?? { csv: g })) rows.push([`export hrv ${fmt} ${f.rows} rows`, 'ms (peak MiB)', `${f.ms} (${f.peak_mib})`, '', '']);
  }
}
if (results.export_tables?.tables) {
  for (const [type, t] of Object.entries(results.export_tables.tables)) {
    rows.push([`export ${type} csv`, `${t.csv.rows} rows/s (peak MiB)`, `${t.csv.rows_per_s} (${t.csv.peak_mib})`, `sqlite3 -csv, equivalent query: ${t.sqlite3_csv.rows_per_s}; node floor: ${t.node_floor?.rows_per_s} (${t.floor_ratio})`, t.ratio]);
  }
}
if (results.export_postgres?.csv) {
  const p = results.export_postgres;
  for (const fmt of ['csv', 'parquet']) {
    rows.push([`export hrv ${fmt} from PostgreSQL`, `${p[fmt].rows} rows/s (peak MiB)`, `${p[fmt].rows_per_s} (${p[fmt].peak_mib})`,
      `psql \\copy ... to stdout csv: ${p.psql_copy_csv.rows_per_s} (${p.psql_copy_csv.peak_mib})`, p[`ratio_${fmt}_vs_psql`]]);
  }
  rows.push(['export hrv csv from PostgreSQL, growth', 'rows: ms (peak MiB)', p.growth.map((g) => `${g.rows}: ${g.ms} (${g.peak_mib})`).join('; '), `from SQLite: ${p.sqlite_csv.rows_per_s} rows/s`, '']);
}
if (results.sync) {
  const { unlimited, rate_limited: limited } = results.sync;
  rows.push(['sync, no limit', 'documents/s (requests)', `${unlimited.wearhook.documents_per_s} (${unlimited.wearhook.requests})`,
    `bare fetch loop: ${unlimited.bare_fetch_loop.documents_per_s}`, unlimited.ratio_documents_per_s]);
  rows.push(['sync, rate-limited', 'ms (documents/s, 429s)', `${limited.wearhook.ms} (${limited.wearhook.documents_per_s}/s, ${limited.wearhook.throttled_429} x 429)`,
    `fastest possible under ${limited.limit.split(' (')[0]}: ${limited.ideal_ms} ms`, limited.ratio_ideal_vs_actual_time]);
}
if (results.reconcile) {
  const { pass, receiver } = results.reconcile;
  rows.push([`reconcile pass ${results.reconcile.users} users x ${results.reconcile.look_back_days} days x ${results.reconcile.types.length} types`, 'ms (requests, req/s, 429s)',
    `${pass.ms} (${pass.requests}, ${pass.requests_per_s}/s, ${pass.throttled_429} x 429)`, `Oura allows ${pass.allowed_requests_per_s}/s`, pass.share_of_limit]);
  rows.push(['receiver during the pass', 'p50/p99 ms', `${receiver.during_pass.p50_ms}/${receiver.during_pass.p99_ms}`,
    `after it: ${receiver.after_pass.p50_ms}/${receiver.after_pass.p99_ms}`, receiver.ratio_p99]);
}
const header = ['benchmark', 'metric', 'wearhook', 'baseline (same run)', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
log(`wrote bench/results.json`);
