import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { cliEnv } from './helpers/listen-process.js';
import { onPostgres } from './helpers/engine.js';
import { send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * `events list` filters and layout, `events tail [--follow]`, and the one date parser. On SQLite
 * and on PostgreSQL (vitest.config.ts BOTH_ENGINES), but for the layout and the dates.
 */

let dir: string;
let receiver: TestReceiver;
const ids: Record<string, number> = {};
const LONG_USER = 'participant-with-a-very-long-identifier-0123456789abcdef';

async function oura(dataType: string, objectId: string, user: string): Promise<number> {
  const body = JSON.stringify({ event_type: 'create', data_type: dataType, object_id: objectId, event_time: '2026-03-02T07:00:00+00:00', user_id: user });
  const res = await send(`${receiver.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, body), body });
  expect(res.status).toBe(200);
  return res.json().id as number;
}

async function standard(id: string, type: string, user: string): Promise<number> {
  const body = JSON.stringify({ type, timestamp: '2026-03-02T08:00:00Z', data: { user_id: user, note: `note of ${id}` } });
  const res = await send(`${receiver.receiver.url}/standard`, { headers: standardHeaders(TEST_SECRETS.standard, id, body), body });
  expect(res.status).toBe(200);
  return res.json().id as number;
}

beforeAll(async () => {
  dir = tempDir();
  receiver = await startTestReceiver();
  ids.sleep = await oura('sleep', 'sleep-doc-1', 'ou-1');
  ids.readiness = await oura('daily_readiness', 'ready-doc-1', 'ou-1');
  ids.otherSleep = await oura('sleep', 'sleep-doc-2', 'ou-2');
  ids.long = await standard('msg_long', 'an.event.with.a.rather.long.name.created', LONG_USER);
});
afterAll(async () => {
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const wearhook = (args: string[], extra: Record<string, string> = {}) =>
  runCli(args, { env: { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: receiver.location, ...extra }, cwd: dir });
const listIds = async (args: string[]) => {
  const res = await wearhook(['events', 'list', ...args, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return (JSON.parse(res.stdout) as { id: number }[]).map((r) => r.id);
};

describe('events list', () => {
  it('filters by event glob, user and text in the body, newest first', async () => {
    expect(await listIds(['--event', 'sleep.*'])).toEqual([ids.otherSleep, ids.sleep]);
    expect(await listIds(['--event', 'sleep.*', '--user', 'ou-1'])).toEqual([ids.sleep]);
    expect(await listIds(['--event', 'daily_*,*.created'])).toEqual([ids.long, ids.readiness]);
    expect(await listIds(['--grep', 'READY-DOC'])).toEqual([ids.readiness]);
    expect(await listIds(['--grep', '100%'])).toEqual([]);
    expect(await listIds(['--provider', 'oura', '--user', 'ou-2'])).toEqual([ids.otherSleep]);
  });

  // Layout and zones of the same rows: checked once, on SQLite.
  it.skipIf(onPostgres)('fits 80 columns with an ellipsis, in the local zone with its offset', async () => {
    const json = JSON.parse((await wearhook(['events', 'list', '--json'], { TZ: 'Asia/Tokyo' })).stdout) as { id: number; received_at: string; user_id: string }[];
    const long = json.find((r) => r.id === ids.long)!;
    expect(long.received_at).toMatch(/Z$/);
    expect(long.user_id).toBe(LONG_USER);
    for (const [tz, offset] of [['Asia/Tokyo', '\\+09:00'], ['America/New_York', '-0[45]:00'], ['UTC', '\\+00:00']] as const) {
      const res = await wearhook(['events', 'list'], { TZ: tz });
      expect(res.code, res.stderr).toBe(0);
      const lines = res.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(5);
      for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
      expect(lines[0]).toMatch(new RegExp(`received \\(${offset}\\)`));
      const row = lines.find((l) => l.trimStart().startsWith(`#${ids.long} `))!;
      expect(row).toMatch(/…/);
      // The local time of that zone, as an independent formatter writes it.
      const local = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' }).format(new Date(long.received_at));
      expect(row).toContain(` ${local} `);
    }
  });

  // The same text comparison of received_at on both engines (the filters above run there): checked once, on SQLite.
  it.skipIf(onPostgres)('--since/--until take dates, times and durations', async () => {
    expect(await listIds(['--since', '2h'])).toHaveLength(4);
    expect(await listIds(['--until', '1d'])).toEqual([]);
    expect(await listIds(['--since', '2999-01-01'])).toEqual([]);
    const today = new Date();
    const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    expect(await listIds(['--until', day])).toHaveLength(4);
    expect(await listIds(['--since', `${day}T00:00`, '--until', '2999-01-01T00:00:00Z'])).toHaveLength(4);
  });

  // Refused before the store is opened: checked once, on SQLite.
  it.skipIf(onPostgres)('--since/--until refuse anything but a date, a time or a duration', async () => {
    for (const bad of ['yesterday', 'March 5', '2026-02-30', '2026-03-01T25:00', '5 hours']) {
      const res = await wearhook(['events', 'list', '--since', bad]);
      expect(res.code, bad).toBe(2);
      expect(res.stderr, bad).toMatch(/is not a (date in the form YYYY-MM-DD|real calendar date|real date and time)/);
    }
  });
});

describe('events tail', () => {
  it('prints the latest oldest first, then follows deliveries another process stores', async () => {
    const last = await wearhook(['events', 'tail', '-n', '2']);
    expect(last.code).toBe(0);
    expect(last.stdout.trim().split('\n').slice(1).map((l) => l.split(' ')[0])).toEqual([`#${ids.otherSleep}`, `#${ids.long}`]);

    const child = spawn(process.execPath, [BIN, 'events', 'tail', '--follow', '--json', '-n', '1', '--provider', 'oura'], {
      env: cliEnv({ WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: receiver.location }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: { id: number; provider: string }[] = [];
    let buffered = '';
    const waiters: (() => void)[] = [];
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(JSON.parse(buffered.slice(0, nl)) as { id: number; provider: string });
        buffered = buffered.slice(nl + 1);
      }
      waiters.splice(0).forEach((wake) => wake());
    });
    const waitFor = async (n: number) => {
      while (lines.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    };
    await waitFor(1);
    expect(lines[0]!.id).toBe(ids.otherSleep);
    const newStandard = await standard('msg_followed', 'followed.created', 'someone');
    const newOura = await oura('sleep', 'sleep-doc-3', 'ou-3');
    await waitFor(2);
    expect(lines.map((l) => l.id)).toEqual([ids.otherSleep, newOura]);
    expect(newStandard).toBeLessThan(newOura);
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  });
});
