#!/usr/bin/env node
// `npm run bench`: every benchmark, a table on stdout, and bench/results.json.
// Each figure stands next to a baseline measured in the same run on the same machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './lib.mjs';
import { benchStartup } from './startup.mjs';
import { benchExport } from './export.mjs';

const only = new Set(process.argv.slice(2));
const want = (name) => only.size === 0 || only.has(name);
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const results = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
};

if (want('startup')) {
  log('start-up');
  results.startup = await benchStartup();
}
if (want('export')) {
  log('export');
  results.export = await benchExport({ log });
}

fs.writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);

const rows = [];
if (results.startup) {
  const s = results.startup;
  rows.push(['start-up', '`wearhook --help` median ms', s.wearhook_help_ms, `node -e 0: ${s.node_e0_ms}`, s.ratio]);
}
if (results.export) {
  const e = results.export;
  for (const [table, r] of [['hrv', e.hrv], ['sleep', e.sleep]]) {
    for (const fmt of ['csv', 'ndjson']) {
      if (!r[fmt]) continue;
      rows.push([`export ${table} ${fmt}`, `${r[fmt].rows} rows/s, peak MiB`, `${r[fmt].rows_per_s} (${r[fmt].peak_mib} MiB)`,
        r.sqlite3_csv ? `sqlite3 -csv: ${r.sqlite3_csv.rows_per_s} rows/s (${r.sqlite3_csv.peak_mib} MiB)` : 'sqlite3 not installed',
        r.sqlite3_csv ? Number((r[fmt].rows_per_s / r.sqlite3_csv.rows_per_s).toFixed(2)) : '-']);
    }
  }
  for (const g of e.growth) rows.push([`export hrv csv ${g.rows} rows`, 'ms (peak MiB)', `${g.ms} (${g.peak_mib})`, '', '']);
}
const header = ['benchmark', 'metric', 'wearhook', 'baseline (same run)', 'ratio'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
log(`wrote bench/results.json`);
