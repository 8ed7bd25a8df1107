// The floor under any exporter written in Node on better-sqlite3: a bare process that runs
// wearhook's own export query for one table and writes each row's raw fields, comma-joined,
// to a file; no JSON parsed, no mapping, no local times, no CSV quoting. What it costs is what
// wearhook pays before doing any of its own work (Node's start-up, the query, a JavaScript value
// of every column of every row). Run as a child process: node bench/export-floor.mjs DB TYPE OUT
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { exportSpansOp } from '../dist/store/export.js';
import { runSqlite } from '../dist/store/sqlite-run.js';
import { sourcesFor } from '../dist/export/sources.js';
import { exportQuery } from '../dist/export/query.js';

const [file, type, out] = process.argv.slice(2);
const db = new Database(file, { readonly: true, fileMustExist: true });
// wearhook's own query, read the same way (in key order where the range covers most of a series' days).
const query = exportQuery(type, { from: '1900-01-01', to: '2999-12-31' }, runSqlite(db, exportSpansOp(sourcesFor(type))));
db.pragma('cache_size = -2000'); // as wearhook's export stream does
const fd = fs.openSync(out, 'w');
let text = '';
for (const row of db.prepare(query.sql.sqlite).raw(true).iterate(...query.params)) {
  text += `${row.join(',')}\r\n`;
  if (text.length >= 1 << 16) {
    fs.writeSync(fd, text);
    text = '';
  }
}
fs.writeSync(fd, text);
fs.closeSync(fd);
db.close();
