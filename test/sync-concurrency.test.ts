import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ROOT, runCli, tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { onPostgres, queryRows, testDatabase } from './helpers/engine.js';

/**
 * `sync` sharing its database with another process that is writing (a second sync, `listen`).
 * Runs on SQLite (another connection holds the file's write lock) and on PostgreSQL (another
 * session holds an exclusive lock on the documents table), vitest.config.ts BOTH_ENGINES.
 */

let fake: OuraFake;
let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  fake = await startOuraFake({ pageSize: 2 });
  dir = tempDir();
  env = { ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: await testDatabase(dir) };
  await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'u1' });
  fake.addDocuments('u1', 'daily_sleep', ['2026-03-01', '2026-03-02', '2026-03-03'].map((day, i) => ({ id: `ds-${i}`, day, score: 70 + i })));
});
afterEach(async () => {
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Another process holding the database's write lock until told (a line on stdin) to commit. */
const LOCKER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('journal_mode = WAL');
db.exec('BEGIN IMMEDIATE');
db.prepare("UPDATE users SET updated_at = '2026-01-01T00:00:00Z'").run();
console.log('locked');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
`;

/** Hold the lock until the returned function is called, which commits. */
async function holdWriteLock(location: string): Promise<() => Promise<void>> {
  if (onPostgres) {
    const client = new pg.Client({ connectionString: location });
    await client.connect();
    await client.query('BEGIN');
    await client.query('LOCK TABLE documents IN EXCLUSIVE MODE');
    return async () => {
      await client.query('COMMIT');
      await client.end();
    };
  }
  const locker = spawn(process.execPath, ['-e', LOCKER, location], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => locker.stdout.once('data', () => resolve()));
  return async () => {
    locker.stdin.write('commit\n');
    await new Promise((resolve) => locker.once('exit', resolve));
  };
}

describe('sync next to another writer', () => {
  it('waits for the other process to commit instead of failing with "database is locked"', async () => {
    const release = await holdWriteLock(env.WEARHOOK_DB!);
    const sync = runCli(['sync', '--from', '2026-03-01', '--to', '2026-03-03', '--type', 'daily_sleep'], { env });
    // Let sync fetch its first page and reach its first write while the lock is held, then release it.
    for (let i = 0; i < 200 && fake.requestsTo('/v2/usercollection/daily_sleep').length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    await release();
    const result = await sync;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await queryRows(env.WEARHOOK_DB!, "SELECT COUNT(*) AS n FROM documents WHERE type = 'daily_sleep'")).toEqual([{ n: 3 }]);
  });
});
