import http from 'node:http';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { addParticipant, linkParticipantAccount } from '../../src/participants/core.js';
import { upsertUser, updateUserTokenState } from '../../src/store/users.js';
import { storeDocument } from '../../src/store/documents.js';
import { startSyncRun } from '../../src/store/sync-runs.js';
import { insertDelivery } from '../../src/store/deliveries.js';
import { upsertSubscription } from '../../src/store/subscriptions.js';
import { startListen, startNdjsonProcess } from '../helpers/listen-process.js';
import { standardHeaders, TEST_SECRETS } from '../helpers/signing.js';
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
  storeDocument(db, { ...vs, data: { score: 2, stages: { deep: 90 } }, order: { rank: 1, atMs: 2_000 } }, { source: 'webhook', retrievedAt: new Date('2026-10-22T12:00:00Z'), deliveryId: 1 });
  storeDocument(db, { ...vs, data: { score: 0 }, order: { rank: 0, atMs: 500 } }, { source: 'webhook', retrievedAt: new Date('2026-10-22T13:00:00Z') });
  // Two deliveries: the Vital webhook that brought the newest version, and one of another provider.
  const delivery = insertDelivery(db, {
    provider: 'vital', receivedAt: new Date('2026-10-22T12:00:00Z'), method: 'POST', path: '/vital',
    headers: [['svix-id', 'msg_vs1'], ['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vi-2', data: { id: 'VS-1' } })),
    dedupeKey: 'vital:msg_vs1', eventType: 'daily.data.sleep.created', userId: 'vi-2',
  });
  insertDelivery(db, {
    provider: 'standard', receivedAt: new Date('2026-10-22T12:05:00Z'), method: 'POST', path: '/standard',
    headers: [], body: Buffer.from('{"type":"ping"}'), dedupeKey: 'standard:1', eventType: 'ping', userId: null,
  });
  upsertSubscription(db, { id: 'sub-sleep', callback_url: 'https://hooks.example.org/oura', event_type: 'create', data_type: 'sleep', expiration_time: '2027-01-01T00:00:00Z' }, { createdByWearhook: true });
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

/** The seeded study in a SQLite file and its copy in a new PostgreSQL database. */
async function studyOnBoth(): Promise<{ dir: string; file: string; url: string }> {
  const dir = tempDir();
  const file = path.join(dir, 'study.db');
  seedStudy(file);
  const url = await newPostgresDatabase({ migrated: false });
  const copied = await runCli(['db', 'copy', '--from', file, '--to', url]);
  expect(copied.code, copied.stderr).toBe(0);
  return { dir, file, url };
}

/** A console page's HTML without what differs between two consoles (the access token, the database named at the top). */
async function consolePage(base: string, page: string): Promise<{ status: number; body: string }> {
  const res = await fetch(new URL(page, base));
  const token = new URL(base).pathname;
  return { status: res.status, body: (await res.text()).replaceAll(token, '/<token>/').replace(/database [^<]*/g, 'database <db>') };
}

describe('the study commands on PostgreSQL', () => {
  it('report (in three machine zones), history and participants add, link, set, unlink, invite, list, remove answer as on SQLite, refusals and exit codes included', async () => {
    const { dir, file, url } = await studyOnBoth();
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
    // The report before anything changes, its days computed on machines in three zones (the night of 2026-10-25 is 25 hours in Amsterdam).
    const report = (db: string, tz: string, json = true) =>
      runCli(['report', '--from', '2026-10-18', '--to', '2026-10-31', ...(json ? ['--json'] : []), '--db', db], { env: { ...env, TZ: tz, COLUMNS: '100' } }).then(comparable);
    const zones = ['UTC', 'Asia/Tokyo', 'America/New_York'];
    const reports = await Promise.all([file, url].flatMap((db) => [...zones.map((tz) => report(db, tz)), report(db, 'Europe/Amsterdam', false)]));
    const [sqliteReports, postgresReports] = [reports.slice(0, 4), reports.slice(4)];
    expect(postgresReports).toEqual(sqliteReports);
    for (const r of sqliteReports) expect(r.code, r.stderr).toBe(0);
    // Whatever the machine's zone, the same rows.
    expect(new Set(sqliteReports.slice(0, 3).map((r) => r.stdout)).size).toBe(1);
    const rows = JSON.parse(sqliteReports[0]!.stdout) as { participant: string; day: string; sleep: boolean; hrv_minutes: number; flags: string[]; documents_by_webhook: number }[];
    expect(rows).toHaveLength(3 * 14);
    const p1 = rows.filter((r) => r.participant === 'P001');
    expect(p1.find((r) => r.day === '2026-10-25')).toMatchObject({ sleep: true, hrv_minutes: 15 });
    expect(p1.find((r) => r.day === '2026-10-24')).toMatchObject({ sleep: false, flags: [] });
    expect(p1.find((r) => r.day === '2026-10-20')!.flags).toEqual(['outside_enrolment']);
    expect(rows.find((r) => r.participant === 'P003' && r.day === '2026-10-31')!.flags).toEqual(['no_data_2d', 'needs_reauth']);
    expect(rows.find((r) => r.participant === 'P002' && r.day === '2026-10-22')!.documents_by_webhook).toBe(1);
    expect(sqliteReports[3]!.stdout).toContain('P001');

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

  it('the console serves the delivery list, a delivery, subscriptions, the heatmap and a participant as on SQLite, and shows a new delivery live, also inside listen --ui', async () => {
    const { dir, file, url } = await studyOnBoth();
    const env = { WEARHOOK_CONFIG_DIR: path.join(dir, 'config') };
    const [onSqlite, onPostgres] = await Promise.all([
      startNdjsonProcess(['ui', '--db', file, '--port', '0', '--no-browser', '--json'], env, 'ui'),
      startNdjsonProcess(['ui', '--db', url, '--port', '0', '--no-browser', '--json'], env, 'ui'),
    ]);
    try {
      // The page names the database with its password redacted.
      const named = await (await fetch(new URL('deliveries', onPostgres.url))).text();
      expect(named).toMatch(/database postgres:\/\/wearhook:\*\*\*\*@127\.0\.0\.1:\d+\/t_/);
      expect(named).not.toContain(postgresServer().password);
      const pages = [
        'deliveries',
        'deliveries?q=vs-1',
        'deliveries?event=daily.*.created&provider=vital',
        'deliveries/1',
        'deliveries/3',
        'subscriptions',
        'participants?from=2026-10-18&to=2026-10-31',
        'participants/P001?from=2026-10-18&to=2026-10-31&night=2026-10-25',
      ];
      const [sqlitePages, postgresPages] = await Promise.all([onSqlite, onPostgres].map((p) => Promise.all(pages.map((page) => consolePage(p.url, page)))));
      expect(postgresPages).toEqual(sqlitePages);
      const [list, grep, glob, detail, missing, subs, heatmap, charts] = postgresPages.map((p) => p!);
      expect([list, grep, glob, detail, subs, heatmap, charts].map((p) => p.status)).toEqual([200, 200, 200, 200, 200, 200, 200]);
      expect(missing.status).toBe(404);
      expect(list.body).toContain('id="d-2"');
      expect(grep.body).toContain('id="d-1"');
      expect(grep.body).not.toContain('id="d-2"');
      expect(glob.body).toContain('id="d-1"');
      expect(detail.body).toContain('vital:msg_vs1');
      expect(subs.body).toContain('sub-sleep');
      expect(heatmap.body).toContain('data-participant="P001" data-day="2026-10-25"');
      expect(charts.body).toContain('The night of 2026-10-25');

      // Replay from a delivery's page sends its exact bytes (the replay core of `events replay`).
      const received: Buffer[] = [];
      const app = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => (received.push(Buffer.concat(chunks)), res.writeHead(202).end('taken')));
      });
      await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
      try {
        const target = `http://127.0.0.1:${(app.address() as { port: number }).port}/vital`;
        const answer = await fetch(new URL('deliveries/1/replay', onPostgres.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ url: target, mode: 'exact' }),
        });
        expect(await answer.json()).toMatchObject({ id: 1, provider: 'vital', http_status: 202, response: 'taken' });
        expect(received.map((b) => b.toString())).toEqual([JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vi-2', data: { id: 'VS-1' } })]);
      } finally {
        app.close();
      }

      // A delivery that a `listen --ui` on the same database stores appears live on its own
      // console and, by the poll, on the console of this other process.
      const listen = await startListen({ ...env, WEARHOOK_DB: url, WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital }, ['--ui', '--ui-port', '0', '--no-browser']);
      try {
        const liveConsole = (await listen.waitForLine((l) => l.type === 'ui', 'its ui line')).url as string;
        const streams = await Promise.all([onPostgres.url, liveConsole].map(async (base) => (await fetch(new URL('events', base))).body!.getReader()));
        const body = JSON.stringify({ event_type: 'daily.data.activity.created', user_id: 'vi-2', data: { id: 'va-live', user_id: 'vi-2', calendar_date: '2026-10-30', steps: 1 } });
        const answer = await fetch(`${listen.url}/vital`, { method: 'POST', headers: standardHeaders(TEST_SECRETS.vital, 'msg_live', body), body });
        expect(answer.status).toBe(200);
        // The row of the new delivery (the seeded ones, still to be processed, may come first: the receiver works them now).
        const shown = await Promise.all(
          streams.map(async (reader) => {
            let seen = '';
            let row: RegExpExecArray | null = null;
            while (!(row = /event: delivery\ndata: (\{"id":3,.*)\n/.exec(seen))) seen += new TextDecoder().decode((await reader.read()).value);
            await reader.cancel();
            return (JSON.parse(row[1]!) as { row: string }).row;
          }),
        );
        for (const row of shown) expect(row).toMatch(/^<tr id="d-3"/);
        // Only the receiver's own console knows how long it took to answer.
        expect(shown[1]).toMatch(/title="from arrival to wearhook[^>]*>\d+(\.\d+)? m?s<\/td>/);
        expect(shown[0]).toMatch(/title="from arrival to wearhook[^>]*><\/td>/);
        expect(await listen.stop('SIGTERM')).toBe(0);
      } finally {
        await listen.stop();
      }
    } finally {
      await Promise.all([onSqlite.stop(), onPostgres.stop()]);
    }
  });
});
