import fs from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { runCli, tempDir } from './helpers/cli.js';
import { onPostgres, testDatabase } from './helpers/engine.js';

/**
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES): what reads the store runs on
 * both; flag parsing and the checks of --out (made before a row is read) run once, and what is
 * about a SQLite file stays SQLite's.
 */

let dir: string;
let db: string;
beforeEach(async () => {
  dir = tempDir();
  db = await testDatabase(dir);
});

const run = (args: string[]) => runCli(['--db', db, 'export', ...args], { env: { WEARHOOK_CONFIG_DIR: dir } });
const RANGE = ['--from', '2026-01-01', '--to', '2026-01-31'];

/** Nothing but the database (and its WAL side files) may be in the temp dir afterwards. */
function leftovers(): string[] {
  return fs.readdirSync(dir).filter((f) => !f.startsWith('wearhook.db'));
}

describe('export refuses bad input with one line, the right exit code, and no file left', () => {
  // Only the participant's look-up reaches the store: the rest is the command line's parsing.
  const usage: [string, string[], RegExp][] = [
    ['an unknown type', [...RANGE, '--type', 'sleep,steps', '--out', 'x.csv'], /unknown type "steps"; choose from sleep, hrv, readiness, activity/],
    ['an unknown format', [...RANGE, '--type', 'sleep', '--format', 'xlsx', '--out', 'x.xlsx'], /argument 'xlsx' is invalid. Allowed choices are csv, json, ndjson/],
    ['a malformed date', ['--from', '2026-1-5', '--to', '2026-01-31', '--type', 'sleep', '--out', 'x.csv'], /"2026-1-5" is not a date in the form YYYY-MM-DD/],
    ['an impossible date', ['--from', '2026-02-30', '--to', '2026-03-31', '--type', 'sleep', '--out', 'x.csv'], /"2026-02-30" is not a real calendar date/],
    ['--from after --to', ['--from', '2026-02-01', '--to', '2026-01-31', '--type', 'sleep', '--out', 'x.csv'], /--from 2026-02-01 is after --to 2026-01-31/],
    ['several types without --out', [...RANGE], /Several types .* need --out DIR/],
    ['an unknown participant', [...RANGE, '--type', 'sleep', '--participant', 'P001,nobody', '--out', 'x.csv'], /No participant "P001", "nobody"/],
  ];
  for (const [what, args, message] of usage) {
    it.skipIf(onPostgres && !args.includes('--participant'))(`${what}: exit 2`, async () => {
      const res = await runCli(['--db', db, 'export', ...args], { env: { WEARHOOK_CONFIG_DIR: dir }, cwd: dir });
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(message);
      expect(res.stderr.trim().split('\n')[0]).toMatch(/^error: /);
      expect(res.stdout).toBe('');
      expect(leftovers()).toEqual([]);
    });
  }

  it.skipIf(onPostgres)('an --out in a folder that does not exist: exit 1', async () => {
    const res = await run([...RANGE, '--type', 'sleep', '--out', path.join(dir, 'missing', 'sleep.csv')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: Cannot write .*sleep\.csv: the folder .*missing does not exist\.\n$/);
    expect(leftovers()).toEqual([]);
  });

  it.skipIf(onPostgres)('an --out under a regular file (not writable as a directory): exit 1, nothing left', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const res = await run([...RANGE, '--type', 'sleep,hrv', '--out', path.join(file, 'tables')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: Cannot create the directory/);
    expect(leftovers()).toEqual(['a-file']);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  // About a SQLite file (PostgreSQL's schema check is in test/postgres/store.test.ts).
  it.skipIf(onPostgres)('a database that is not SQLite: exit 1, the file untouched', async () => {
    const notDb = path.join(dir, 'notes.txt');
    fs.writeFileSync(notDb, 'these are my notes, not a database\n'.repeat(50));
    const before = fs.readFileSync(notDb);
    const res = await runCli(['--db', notDb, 'export', ...RANGE, '--type', 'sleep'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: Cannot open the database .*notes\.txt: it is not a SQLite database/);
    expect(res.stdout).toBe('');
    expect(fs.readFileSync(notDb)).toEqual(before);
  });

  it.skipIf(onPostgres)('a database newer than the code: exit 1, asks to upgrade wearhook', async () => {
    const store = openDatabase(db);
    store.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    store.close();
    const res = await run([...RANGE, '--type', 'sleep']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/has schema version \d+, newer than this wearhook understands .*upgrade wearhook/);
  });

  it('a failure while writing several tables leaves no table behind', async () => {
    const out = path.join(dir, 'tables');
    fs.mkdirSync(out);
    // hrv.csv exists as a directory, so the rename of the hrv table fails after sleep was written.
    fs.mkdirSync(path.join(out, 'hrv.csv'));
    const res = await run([...RANGE, '--type', 'sleep,hrv', '--out', out]);
    expect(res.code).toBe(1);
    expect(fs.readdirSync(out)).toEqual(['hrv.csv']);
  });

  it('a failed export leaves the files of an earlier export exactly as they were; a good one replaces them, private', async () => {
    const out = path.join(dir, 'earlier');
    fs.mkdirSync(out);
    const earlier = { 'sleep.csv': 'provider,user_id\r\nearlier,export\r\n', 'datapackage.json': '{"earlier": true}\n' };
    for (const [name, text] of Object.entries(earlier)) {
      fs.writeFileSync(path.join(out, name), text, { mode: 0o644 });
      fs.chmodSync(path.join(out, name), 0o644);
      fs.utimesSync(path.join(out, name), new Date('2026-01-02T03:04:05Z'), new Date('2026-01-02T03:04:05Z'));
    }
    const before = Object.fromEntries(Object.keys(earlier).map((name) => [name, fs.statSync(path.join(out, name))]));
    // The hrv table cannot be published (a folder holds its name) after sleep.csv would have been replaced.
    fs.mkdirSync(path.join(out, 'hrv.csv'));
    const failed = await run([...RANGE, '--type', 'sleep,hrv', '--out', out]);
    expect(failed.code).toBe(1);
    expect(fs.readdirSync(out).sort()).toEqual(['datapackage.json', 'hrv.csv', 'sleep.csv']);
    for (const [name, text] of Object.entries(earlier)) {
      const after = fs.statSync(path.join(out, name));
      expect(fs.readFileSync(path.join(out, name), 'utf8')).toBe(text);
      expect([after.ino, after.mode & 0o777, after.mtimeMs]).toEqual([before[name]!.ino, 0o644, before[name]!.mtimeMs]);
    }
    fs.rmdirSync(path.join(out, 'hrv.csv'));
    const ok = await run([...RANGE, '--type', 'sleep,hrv', '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'sleep.csv'), 'utf8')).toMatch(/^provider,user_id,day,bedtime_start/);
    for (const name of fs.readdirSync(out)) expect(fs.statSync(path.join(out, name)).mode & 0o777, name).toBe(0o600);
  });
});

describe('export into a pipe that closes early (| head)', () => {
  it('stops quietly with exit 0, no stack trace', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./helpers/cli.js');
    db = await testDatabase(dir, (store) => {
      const insert = store.prepare(
        "INSERT INTO documents (provider, type, id, user_id, day, start_time, data, updated_at) VALUES ('oura', 'sleep', ?, 'u1', ?, ?, ?, '2026-01-01T00:00:00Z')",
      );
      store.transaction(() => {
        for (let i = 0; i < 300; i++) {
          const day = `2026-01-${String((i % 28) + 1).padStart(2, '0')}`;
          const start = `${day}T00:00:00+00:00`;
          insert.run(`s${i}`, day, start, JSON.stringify({ id: `s${i}`, day, type: 'long_sleep', hrv: { interval: 300, timestamp: start, items: Array(100).fill(40) } }));
        }
      })();
    }, 'piped.db');
    const child = spawn(process.execPath, [BIN, '--db', db, 'export', ...RANGE, '--type', 'hrv'], { env: { ...process.env, WEARHOOK_CONFIG_DIR: dir } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe.skipIf(onPostgres)('global usage errors', () => {
  it('an unknown flag is exit 2', async () => {
    const res = await runCli(['export', ...RANGE, '--frmo', '2026-01-01'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown option '--frmo'/);
  });
});
