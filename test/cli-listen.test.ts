import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { openDatabase } from '../src/store/db.js';
import { onPostgres, queryRows, testDatabase } from './helpers/engine.js';
import { runCli, tempDir } from './helpers/cli.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { send } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

let dir: string;
let env: Record<string, string>;
let listen: ListenProcess | undefined;
let servers: TestServer[] = [];

/**
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES): the tests of what is stored
 * and read back run on both; flag checks, config, the SQLite file's modes and the tests whose
 * store side another one here already covers run once, on SQLite (each says why).
 */
beforeEach(async () => {
  dir = tempDir();
  env = {
    WEARHOOK_CONFIG_DIR: dir,
    WEARHOOK_DB: await testDatabase(dir),
    WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
    WEARHOOK_SECRET_OPEN_WEARABLES: TEST_SECRETS['open-wearables'],
    WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard,
    WEARHOOK_SECRET_CORSANO: TEST_SECRETS.corsano,
    OURA_CLIENT_SECRET: TEST_SECRETS.oura,
  };
});
afterEach(async () => {
  await listen?.stop('SIGKILL');
  listen = undefined;
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

const wearhook = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extra }, cwd: dir });

function storedDeliveries(): Promise<{ id: number; provider: string; event_type: string; status: string }[]> {
  return queryRows(env.WEARHOOK_DB!, 'SELECT id, provider, event_type, status FROM deliveries ORDER BY id');
}

/** How many deliveries the listen has done (or tried) the work of. */
function worked(l: ListenProcess): number {
  return new Set(l.lines().filter((line) => line.type === 'work').map((line) => line.id)).size;
}

describe('wearhook listen + trigger', () => {
  it('accepts a trigger of every provider and event, and reports each delivery as NDJSON', async () => {
    const l = (listen = await startListen(env));
    const triggers: [string, string | undefined][] = [
      ['oura', undefined],
      ['vital', 'daily.data.sleep.created'],
      ['vital', 'daily.data.activity.created'],
      ['open-wearables', 'sleep.created'],
      ['open-wearables', 'series.heart_rate_variability_rmssd.created'],
      ['standard', undefined],
      ['corsano', 'activity'],
    ];
    // All at once, as senders do.
    const results = await Promise.all(triggers.map(([provider, event]) => wearhook(['trigger', provider, ...(event ? [event] : []), '--to', `${l.url}/${provider}`])));
    for (const [i, res] of results.entries()) {
      const provider = triggers[i]![0];
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^${provider} \\S+ -> ${listen.url}/${provider}: 200\\n$`));
    }
    await listen.waitForLine(() => worked(listen!) === triggers.length, 'the work of every delivery');
    const deliveries = listen.lines().filter((l) => l.type === 'delivery');
    const byTrigger = (l: Record<string, unknown>) => triggers.findIndex(([provider, event]) => l.provider === provider && (!event || l.event_type === event));
    expect(deliveries.sort((a, b) => byTrigger(a) - byTrigger(b)).map((l) => [l.provider, l.event_type, l.http_status])).toEqual([
      ['oura', 'sleep.create', 200],
      ['vital', 'daily.data.sleep.created', 200],
      ['vital', 'daily.data.activity.created', 200],
      ['open-wearables', 'sleep.created', 200],
      ['open-wearables', 'series.heart_rate_variability_rmssd.created', 200],
      ['standard', 'wearhook.test', 200],
      ['corsano', 'activity', 200],
    ]);
    expect(deliveries.every((l) => typeof l.latency_ms === 'number' && typeof l.id === 'number')).toBe(true);
    expect(await storedDeliveries()).toHaveLength(7);
  });

  // The refusal comes before the store: checked once, on SQLite.
  it.skipIf(onPostgres)('trigger says clearly when the secret differs or is missing', async () => {
    listen = await startListen(env);
    const wrong = await wearhook(['trigger', 'vital', '--to', listen.url, '--secret', TEST_SECRETS.standard]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/: 401\n$/);
    expect(wrong.stderr).toMatch(/^error: The receiver refused the delivery with 401 \(no matching v1 signature\)\.\n$/);
    const none = await wearhook(['trigger', 'vital', '--to', listen.url], { WEARHOOK_SECRET_VITAL: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: No signing secret for vital: pass --secret or set WEARHOOK_SECRET_VITAL/);
    expect(await storedDeliveries()).toHaveLength(0);
  });

  // Its store side on PostgreSQL is the test above with receiver-work's normalising and export's own tests: checked once, on SQLite.
  it.skipIf(onPostgres)('the README walk-through: listen, trigger Vital and Open Wearables, export', async () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const shared = { WEARHOOK_SECRET_VITAL: secret, WEARHOOK_SECRET_OPEN_WEARABLES: secret };
    Object.assign(env, shared);
    listen = await startListen(env);
    const to = listen.url; // the README uses http://127.0.0.1:8787; the test takes a free port
    const triggered = await Promise.all([
      ['trigger', 'vital', '--to', to],
      ['trigger', 'vital', 'daily.data.activity.created', '--to', to],
      ['trigger', 'open-wearables', '--to', to],
      ['trigger', 'open-wearables', 'series.heart_rate_variability_rmssd.created', '--to', to],
    ].map((args) => wearhook(args)));
    for (const res of triggered) expect(res.code, res.stderr).toBe(0);
    await listen.waitForLine(() => worked(listen!) === 4, 'the work of all four');

    const list = await wearhook(['events', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.match(/processed/g)).toHaveLength(4);

    const sleep = await wearhook(['export', '--type', 'sleep', '--from', '2000-01-01', '--to', '2099-12-31']);
    expect(sleep.code, sleep.stderr).toBe(0);
    const rows = parse(sleep.stdout, { columns: true }) as Record<string, string>[];
    const byProvider = Object.fromEntries(rows.map((r) => [r.provider, r]));
    expect(Object.keys(byProvider).sort()).toEqual(['open-wearables', 'vital']);
    expect(byProvider.vital).toMatchObject({ total_sleep_s: '25560', time_in_bed_s: '28080', deep_s: '6120', efficiency_pct: '91', avg_hrv_ms: '61' });
    expect(byProvider['open-wearables']).toMatchObject({ total_sleep_s: '25800', time_in_bed_s: '27720', deep_s: '5640', awake_s: '1920' });
    expect(byProvider.vital!.bedtime_start).toMatch(/T23:14:00[+-]\d{2}:\d{2}$/);

    const out = path.join(dir, 'tables');
    const all = await wearhook(['export', '--from', '2000-01-01', '--to', '2099-12-31', '--out', out]);
    expect(all.code, all.stderr).toBe(0);
    const hrv = parse(fs.readFileSync(path.join(out, 'hrv.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(hrv).toHaveLength(12);
    expect(hrv[0]).toMatchObject({ provider: 'open-wearables', rmssd_ms: '41.5' });
    const activity = parse(fs.readFileSync(path.join(out, 'activity.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(activity).toEqual([expect.objectContaining({ provider: 'vital', steps: '9412', high_activity_s: '720' })]);
  });

  // The filter acts on what is shown; storing is the same as above: checked once, on SQLite.
  it.skipIf(onPostgres)('--events limits what is shown, not what is stored', async () => {
    listen = await startListen(env, ['--events', 'vital:daily.data.activity.*']);
    await wearhook(['trigger', 'vital', '--to', listen.url]);
    await wearhook(['trigger', 'vital', 'daily.data.activity.created', '--to', listen.url]);
    await listen.waitForLine((l) => l.type === 'work' && l.event_type === 'daily.data.activity.created', 'the activity');
    expect(listen.lines().filter((l) => l.type === 'delivery').map((l) => l.event_type)).toEqual(['daily.data.activity.created']);
    expect((await storedDeliveries()).map((d) => d.event_type)).toEqual(['daily.data.sleep.created', 'daily.data.activity.created']);
  });

  // Flags and the port, before any store: checked once, on SQLite.
  it.skipIf(onPostgres)('refuses a bad --events filter and a port in use with one clear line', async () => {
    const bad = await wearhook(['listen', '--port', '0', '--events', 'fitbit:*']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: --events: unknown provider "fitbit"/);
    const busy = await startServer((_req, res) => res.end());
    servers.push(busy);
    const taken = await wearhook(['listen', '--port', String(busy.port)]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(new RegExp(`^error: Port ${busy.port} on 127.0.0.1 is already in use`));
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('stopping', () => {
  // Both signals take the same path to the store: PostgreSQL's pass checks SIGTERM.
  for (const signal of onPostgres ? (['SIGTERM'] as const) : (['SIGTERM', 'SIGINT'] as const)) {
    it(`${signal}: stops accepting, finishes the request in flight, closes the store, exits 0`, async () => {
      listen = await startListen(env);
      const body = Buffer.from('{"event_type":"daily.data.sleep.created","user_id":"u","data":{"id":"s","user_id":"u"}}');
      const headers = standardHeaders(TEST_SECRETS.vital, `msg_${signal}`, body);
      // Half a request: headers now (Expect: 100-continue proves the receiver has it), body later.
      const answered = new Promise<number>((resolve, reject) => {
        const req = http.request(`${listen!.url}/vital`, {
          method: 'POST',
          headers: { ...headers, 'content-length': body.length, expect: '100-continue' },
        });
        req.on('continue', async () => {
          req.write(body.subarray(0, 10));
          listen!.child.kill(signal);
          await waitUntil(() => /stopping on/.test(listen!.stderr()));
          req.end(body.subarray(10));
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        req.on('error', reject);
      });
      expect(await answered).toBe(200);
      expect(await listen.exited).toBe(0);
      expect(listen.stderr()).toMatch(new RegExp(`stopping on ${signal}`));
      expect(listen.lines().at(-1)).toMatchObject({ type: 'stopped', accepted: 1 });
      expect(await storedDeliveries()).toEqual([expect.objectContaining({ provider: 'vital', status: 'processed' })]);
      // It no longer accepts anything.
      await expect(send(`${listen.url}/healthz`, { method: 'GET' })).rejects.toThrow();
    });
  }
});

describe('secrets and exposure', () => {
  // Redaction does not depend on the store (the outbox on PostgreSQL: test/postgres/outbox.test.ts): checked once, on SQLite.
  it.skipIf(onPostgres)('forwards with the credentials of a --forward-to URL but never prints them; replay --to likewise', async () => {
    const seen: (string | undefined)[] = [];
    const app = await startServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    servers.push(app);
    const target = `http://hook-user:s3cr3t-pass@127.0.0.1:${app.port}/hook`;
    listen = await startListen(env, ['--forward-to', target]);
    const body = '{"event_type":"daily.data.sleep.created","user_id":"u","data":{"id":"s","user_id":"u"}}';
    expect((await send(`${listen.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_fwd', body), body })).status).toBe(200);
    const forwarded = await listen.waitForLine((l) => l.type === 'forward', 'the forward');
    expect(forwarded).toMatchObject({ http_status: 204, url: `http://hook****:****@127.0.0.1:${app.port}/hook` });
    expect(seen).toEqual([`Basic ${Buffer.from('hook-user:s3cr3t-pass').toString('base64')}`]);
    expect(await listen.stop('SIGTERM')).toBe(0);
    const replayed = await wearhook(['events', 'replay', '1', '--to', target]);
    for (const text of [listen.stderr(), JSON.stringify(listen.lines()), replayed.stdout, replayed.stderr]) {
      expect(text).not.toContain('s3cr3t');
      expect(text).not.toContain('hook-user');
    }
    expect(replayed.stdout).toContain(`http://hook****:****@127.0.0.1:${app.port}/hook`);
  });

  // The config file, not the store: checked once, on SQLite.
  it.skipIf(onPostgres)('config set KEY - reads the value from stdin, so that it stays out of the process list', async () => {
    const { WEARHOOK_SECRET_STANDARD: _inEnv, ...withoutEnv } = env;
    const set = await runCli(['config', 'set', 'secrets.standard', '-'], { env: withoutEnv, cwd: dir, input: `${TEST_SECRETS.standard}\n` });
    expect(set.code).toBe(0);
    expect(set.stderr).not.toContain(TEST_SECRETS.standard);
    const shown = await runCli(['config', 'get', 'secrets.standard', '--reveal'], { env: withoutEnv, cwd: dir });
    expect(shown.stdout).toBe(`${TEST_SECRETS.standard}\n`);
    const empty = await runCli(['config', 'set', 'secrets.standard', '-'], { env: withoutEnv, cwd: dir, input: '' });
    expect(empty.code).toBe(2);
  });

  // About the SQLite file itself.
  it.skipIf(onPostgres)('makes a database readable by others private, WAL and SHM too, and warns when the receiver is reachable from the network', async () => {
    openDatabase(env.WEARHOOK_DB!).close();
    const files = [env.WEARHOOK_DB!, `${env.WEARHOOK_DB}-wal`, `${env.WEARHOOK_DB}-shm`];
    fs.writeFileSync(files[1]!, '');
    fs.writeFileSync(files[2]!, '');
    for (const file of files) fs.chmodSync(file, 0o644);
    listen = await startListen(env, ['--host', '0.0.0.0']);
    await waitUntil(() => /reachable from the network/.test(listen!.stderr()));
    expect(listen.stderr()).toMatch(/warning: the database was readable by other users; made readable by its owner only \(0600\): wearhook\.db \(was 0644\)/);
    expect(listen.stderr()).toMatch(/warning: the receiver listens on 0\.0\.0\.0: it is reachable from the network/);
    for (const file of files) expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

// How a stop ends, not what is stored: checked once, on SQLite.
describe.skipIf(onPostgres)('a second signal', () => {
  it('ends a stop that waits on a request in flight at once, exit 1, saying so', async () => {
    listen = await startListen(env);
    const body = Buffer.from('{"event_type":"daily.data.sleep.created","user_id":"u","data":{"id":"s","user_id":"u"}}');
    const headers = standardHeaders(TEST_SECRETS.vital, 'msg_second_signal', body);
    const req = http.request(`${listen.url}/vital`, { method: 'POST', headers: { ...headers, 'content-length': body.length, expect: '100-continue' } });
    req.on('error', () => {});
    await new Promise<void>((resolve) => req.on('continue', () => resolve()));
    req.write(body.subarray(0, 10)); // and the rest never comes: the stop would wait for it
    listen.child.kill('SIGINT');
    await waitUntil(() => /stopping on SIGINT/.test(listen!.stderr()));
    listen.child.kill('SIGINT');
    const exit = await Promise.race([listen.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5_000))]);
    expect(exit).toBe(1);
    expect(listen.stderr()).toMatch(/SIGINT again: stopping at once; unfinished work resumes on the next start/);
    req.destroy();
  });
});

// events list/show/replay on PostgreSQL: events-search, events-replay and test/postgres/outbox.test.ts; checked here once, on SQLite.
describe.skipIf(onPostgres)('wearhook events', () => {
  async function seed(): Promise<ListenProcess> {
    const l = await startListen(env);
    const oura = '{"event_type":"create","data_type":"sleep","object_id":"o-1","event_time":"2026-03-02T07:00:00+00:00","user_id":"ou-1"}';
    await send(`${l.url}/oura`, { headers: { ...ouraHeaders(TEST_SECRETS.oura, oura), authorization: 'Bearer sk_live_very_secret' }, body: oura });
    const vital = '{"event_type":"daily.data.sleep.created",  "user_id":"vu-1","data":{"id":"vs-1","user_id":"vu-1","calendar_date":"2026-03-02"}}';
    await send(`${l.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_ev', vital, { brand: 'svix' }), body: vital });
    await l.waitForLine((line) => line.type === 'work' && line.provider === 'vital', 'the vital delivery processed');
    return l;
  }

  it('list filters by provider and status; show prints one delivery with secrets redacted', async () => {
    listen = await seed();
    const all = await wearhook(['events', 'list', '--json']);
    expect(all.code).toBe(0);
    const rows = JSON.parse(all.stdout) as { id: number; provider: string; status: string }[];
    expect(rows.map((r) => r.provider)).toEqual(['vital', 'oura']);
    const vitalOnly = JSON.parse((await wearhook(['events', 'list', '--provider', 'vital', '--status', 'processed', '--json'])).stdout);
    expect(vitalOnly).toEqual([expect.objectContaining({ provider: 'vital', status: 'processed', event_type: 'daily.data.sleep.created' })]);
    const none = await wearhook(['events', 'list', '--since', '2999-01-01']);
    expect(none.stderr).toMatch(/no deliveries match/);

    const ouraId = rows.find((r) => r.provider === 'oura')!.id;
    const shown = await wearhook(['events', 'show', String(ouraId)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/authorization: Bear\*\*\*\*/);
    expect(shown.stdout).not.toMatch(/sk_live/);
    expect(shown.stdout).toMatch(/"object_id":"o-1"/);
    const json = JSON.parse((await wearhook(['events', 'show', String(ouraId), '--json'])).stdout);
    expect(json).toMatchObject({ id: ouraId, provider: 'oura', event_type: 'sleep.create', payload: { object_id: 'o-1' } });
    expect(JSON.stringify(json.headers)).not.toMatch(/sk_live/);

    const missing = await wearhook(['events', 'show', '999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: There is no delivery #999/);
  });

  it('replay sends stored deliveries byte for byte with their headers; a refusing app exits 1', async () => {
    listen = await seed();
    const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
    let status = 202;
    const app = await startServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(status).end();
      });
    });
    servers.push(app);
    const vitalId = (JSON.parse((await wearhook(['events', 'list', '--provider', 'vital', '--json'])).stdout) as { id: number }[])[0]!.id;
    const ok = await wearhook(['events', 'replay', String(vitalId), '--to', `${app.url}/hook`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^#${vitalId} vital daily.data.sleep.created -> ${app.url}/hook: 202`));
    expect(got[0]!.body).toBe('{"event_type":"daily.data.sleep.created",  "user_id":"vu-1","data":{"id":"vs-1","user_id":"vu-1","calendar_date":"2026-03-02"}}');
    expect(got[0]!.headers['svix-id']).toBe('msg_ev');

    status = 500;
    const since = await wearhook(['events', 'replay', '--since', '1h', '--to', `${app.url}/hook`]);
    expect(since.code).toBe(1);
    expect(since.stderr).toMatch(/^error: 2 of 2 replayed deliveries were not accepted/);
    expect(got).toHaveLength(3);

    const both = await wearhook(['events', 'replay', '1', '--since', '1h', '--to', app.url]);
    expect(both.code).toBe(2);
  });
});
