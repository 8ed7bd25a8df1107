import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { addParticipant, linkParticipantAccount } from '../../src/participants/core.js';
import { upsertUser, updateUserTokenState } from '../../src/store/users.js';
import { storeDocument } from '../../src/store/documents.js';
import { startSyncRun } from '../../src/store/sync-runs.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { newPostgresDatabase, postgresServer } from '../helpers/postgres.js';
import { seedOuraParticipant } from '../helpers/study-seed.js';

/**
 * The study commands on PostgreSQL give what they give on SQLite: the same seeded study,
 * moved into PostgreSQL with `wearhook db copy`, and the same commands run through the real
 * CLI on both, their output compared.
 */

const days = (from: string, n: number, skip: number[] = []) =>
  Array.from({ length: n }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10)).filter((_, i) => !skip.includes(i));

/** Three participants over the night Europe leaves summer time (2026-10-25), with gaps, one Oura grant that stopped working. */
function seedStudy(file: string): void {
  const db = openDatabase(file);
  const at = new Date('2026-10-01T09:00:00Z');
  addParticipant(db, 'P001', { tz: 'Europe/Amsterdam', start: '2026-10-21', end: '2026-10-30' }, at);
  addParticipant(db, 'P002', { tz: 'America/New_York' }, at);
  addParticipant(db, 'P003', {}, at);
  for (const [label, userId] of [['P001', 'ou-1'], ['P002', 'ou-2'], ['P003', 'ou-3']] as const) {
    upsertUser(db, { provider: 'oura', userId, scopes: 'daily heartrate' }, at);
    linkParticipantAccount(db, { label, provider: 'oura', userId }, at);
  }
  linkParticipantAccount(db, { label: 'P002', provider: 'vital', userId: 'vi-2' }, at);
  updateUserTokenState(db, 'oura', 'ou-3', { needsReauth: true, lastError: 'the refresh token was revoked' }, at);
  seedOuraParticipant(db, { label: 'P001', userId: 'ou-1', sleepDays: days('2026-10-20', 10, [4]), readinessDays: days('2026-10-20', 10, [4, 5]), activityDays: days('2026-10-20', 9) }, 1);
  // A Vital sleep with three versions: one by a sync run, one that arrived after a newer one.
  const run = startSyncRun(db, { provider: 'vital', kind: 'sync', userId: 'vi-2', types: ['sleep'], from: '2026-10-22', to: '2026-10-22' }, at);
  const vs = { provider: 'vital', type: 'sleep', id: 'vs-1', userId: 'vi-2', day: '2026-10-22', startTime: '2026-10-21T23:00:00-04:00', endTime: '2026-10-22T07:00:00-04:00' };
  storeDocument(db, { ...vs, data: { score: 1, stages: { deep: 60 } }, order: { rank: 0, atMs: 1_000 } }, { source: 'sync', retrievedAt: at, syncRunId: run.id });
  storeDocument(db, { ...vs, data: { score: 2, stages: { deep: 90 } }, order: { rank: 1, atMs: 2_000 } }, { source: 'webhook', retrievedAt: new Date('2026-10-22T12:00:00Z') });
  storeDocument(db, { ...vs, data: { score: 0 }, order: { rank: 0, atMs: 500 } }, { source: 'webhook', retrievedAt: new Date('2026-10-22T13:00:00Z') });
  seedOuraParticipant(db, { label: 'P002', userId: 'ou-2', sleepDays: days('2026-10-22', 4), readinessDays: days('2026-10-22', 2), activityDays: [] }, 5);
  db.close();
}

/** Timestamps, tokens and database names differ between two runs; everything else must not. */
function comparable(result: CliResult): { code: number | null; stdout: string; stderr: string } {
  const strip = (text: string) =>
    text
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
      .replace(/\/enroll\/[A-Za-z0-9_-]+/g, '/enroll/<token>');
  return { code: result.code, stdout: strip(result.stdout), stderr: strip(result.stderr) };
}

/** The reading steps at once, then the writing ones in order. */
async function script(db: string, env: Record<string, string>, reads: string[][], writes: string[][]): Promise<ReturnType<typeof comparable>[]> {
  const run = async (args: string[]) => comparable(await runCli([...args, '--db', db], { env }));
  const results = await Promise.all(reads.map(run));
  for (const args of writes) results.push(await run(args));
  return results;
}

describe('participants and history on PostgreSQL', () => {
  it('participants add, link, set, unlink, invite, list, remove and history answer as on SQLite, refusals and exit codes included', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'study.db');
    seedStudy(file);
    const url = await newPostgresDatabase({ migrated: false });
    const copied = await runCli(['db', 'copy', '--from', file, '--to', url]);
    expect(copied.code, copied.stderr).toBe(0);

    const env = { WEARHOOK_CONFIG_DIR: path.join(dir, 'config') };
    const reads = [
      ['participants', 'list'],
      ['history', 'vital', 'sleep', 'vs-1', '--json'],
      ['history', 'vital', 'sleep', 'vs-1'],
      ['history', 'oura', 'sleep', 'nope'],
    ];
    const writes = [
      ['participants', 'add', 'P004', '--tz', 'Asia/Tokyo', '--start', '2026-11-01', '--json'],
      ['participants', 'add', 'P004'],
      ['participants', 'link', 'P004', 'oura', 'ou-2'],
      ['participants', 'link', 'P004', 'oura', 'ou-2', '--move', '--json'],
      ['participants', 'set', 'P004', '--rename', 'P005', '--end', '2026-11-30', '--tz', 'none', '--json'],
      ['participants', 'set', 'P005', '--rename', 'P001'],
      ['participants', 'unlink', 'vital', 'vi-2', '--json'],
      ['participants', 'invite', 'P006', '--public-url', 'https://study.example.org/', '--json'],
      ['participants', 'invite', 'P007'],
      ['participants', 'remove', 'P001', '--json'],
      ['participants', 'list', '--json'],
    ];
    const [onSqlite, onPostgres] = await Promise.all([script(file, env, reads, writes), script(url, env, reads, writes)]);
    expect(onPostgres).toEqual(onSqlite);
    // The script did what it says (so that the comparison compares something).
    expect(onSqlite.map((r) => r.code)).toEqual([0, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 2, 0, 0]);
    const history = JSON.parse(onSqlite[1]!.stdout) as { versions: { version: number; current: boolean; arrived_older: boolean; sync_run_kind: string | null; changes: { field: string }[] }[] };
    expect(history.versions.map((v) => [v.version, v.current, v.arrived_older, v.sync_run_kind, v.changes.map((c) => c.field)])).toEqual([
      [1, false, true, null, []],
      [2, false, false, 'sync', ['score', 'stages']],
      [3, true, false, null, ['score', 'stages.deep']],
    ]);
    expect(onSqlite[0]!.stdout).toMatch(/^P001 +Europe\/Amsterdam +2026-10-21 +2026-10-30 +oura:ou-1$/m);
    expect(onSqlite[0]!.stdout).toContain('oura:ou-3 (needs_reauth)');
    const listed = JSON.parse(onSqlite[14]!.stdout) as { label: string; accounts: { provider: string; user_id: string; authorization: string | null }[] }[];
    expect(listed.map((p) => [p.label, p.accounts.map((a) => `${a.provider}:${a.user_id}:${a.authorization}`)])).toEqual([
      ['P002', []],
      ['P003', ['oura:ou-3:needs_reauth']],
      ['P005', ['oura:ou-2:authorized']],
      ['P006', []],
    ]);
    expect(onPostgres[11]!.stdout).toContain('https://study.example.org/enroll/');
    expect(onPostgres.map((r) => r.stderr).join('')).not.toContain(postgresServer().password);
  });
});
