import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseForwardTarget } from '../src/forward/targets.js';
import { openDatabase } from '../src/store/db.js';
import { storeLocation } from '../src/store/location.js';
import { outboxOfDeliveryOp } from '../src/store/outbox.js';
import { runCli, tempDir } from './helpers/cli.js';
import { onPostgres, testDatabase } from './helpers/engine.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * Durable forwarding: retries, order, filters, restarts, hop-by-hop headers, events show and
 * forward-retry. On SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES), but for the
 * upgrade of an old SQLite file and the flag checks, which run once.
 */

interface Seen {
  at: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let servers: TestServer[] = [];
let receivers: TestReceiver[] = [];
let listeners: ListenProcess[] = [];
let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.stop('SIGKILL')));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** An app that records what it gets and answers what `answer` says (status, headers). */
async function app(answer: (n: number, seen: Seen) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 }), port = 0) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const entry = { at: Date.now(), headers: req.headers, body };
      seen.push(entry);
      const { status, headers } = answer(seen.length, entry);
      res.writeHead(status, headers).end(status >= 300 ? 'the app says no' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as { port: number };
  const close = () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  servers.push({ url: `http://127.0.0.1:${bound}`, port: bound, server, close });
  return { url: `http://127.0.0.1:${bound}`, port: bound, seen, close };
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const vital = (id: string, n = 1) => {
  const body = JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vu', data: { id: `vs-${id}`, user_id: 'vu', calendar_date: '2026-03-02', n } });
  return { body, headers: standardHeaders(TEST_SECRETS.vital, id, body, { brand: 'svix' }) };
};

describe('forwarding in the receiver', () => {
  it('500, 500, then 200: delivered exactly once more after two failures; Retry-After is honoured; hop-by-hop headers stay behind', async () => {
    const target = await app((n) => (n <= 2 ? { status: 500 } : n === 4 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const t = await startTestReceiver({ targets: [parseForwardTarget(`${target.url}/hook`)], outbox: { retryDelayMs: () => 50 } });
    receivers.push(t);

    // Sent with node:http, which lets a client name headers of its own connection.
    const first = vital('msg_first');
    const id = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.receiver.url}/vital`, {
        method: 'POST',
        headers: { ...first.headers, connection: 'keep-alive, x-hop-note', 'x-hop-note': 'for this hop only', 'keep-alive': 'timeout=5', 'x-end-to-end': 'kept' },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve((JSON.parse(text) as { id: number }).id));
      });
      req.on('error', reject);
      req.end(first.body);
    });
    await until(() => target.seen.length === 3, 'three attempts');
    await t.receiver.idle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(target.seen).toHaveLength(3);
    for (const got of target.seen) {
      expect(got.body).toBe(first.body);
      expect(got.headers).toMatchObject({ 'svix-id': 'msg_first', 'svix-signature': first.headers['svix-signature'], 'x-end-to-end': 'kept' });
      expect(got.headers['x-hop-note']).toBeUndefined();
      expect(got.headers['keep-alive']).toBeUndefined();
    }
    const entries = await t.run(outboxOfDeliveryOp, id);
    expect(entries).toEqual([expect.objectContaining({ kind: 'forward', target: `${target.url}/hook`, status: 'done', attempts: 3, last_code: 200 })]);
    expect(entries[0]!.attempt_log.map((a) => a.code)).toEqual([500, 500, 200]);
    expect(entries[0]!.attempt_log[0]!.error).toMatch(/^HTTP 500: the app says no$/);
    expect(t.events.filter((e) => e.type === 'forward').map((e) => (e as { status: string }).status)).toEqual(['retrying', 'retrying', 'delivered']);

    // 429 with Retry-After: 1 waits a second although the backoff here is 50 ms.
    const second = vital('msg_second');
    await send(`${t.receiver.url}/vital`, second);
    await until(() => target.seen.length === 5, 'the retry after 429');
    expect(target.seen[4]!.at - target.seen[3]!.at).toBeGreaterThanOrEqual(950);
  });

  it('a target that keeps failing is given up at the end of the retry window, and the next delivery goes on', async () => {
    const target = await app((_n, seen) => (seen.headers['svix-id'] === 'msg_doomed' ? { status: 503 } : { status: 200 }));
    const t = await startTestReceiver({ targets: [parseForwardTarget(`${target.url}/hook`)], outbox: { retryForMs: 400, retryDelayMs: () => 60 } });
    receivers.push(t);
    const doomed = (await send(`${t.receiver.url}/vital`, vital('msg_doomed'))).json().id as number;
    const next = (await send(`${t.receiver.url}/vital`, vital('msg_next'))).json().id as number;
    await until(() => target.seen.some((s) => s.headers['svix-id'] === 'msg_next'), 'the next delivery');
    await t.receiver.idle();
    const [given] = await t.run(outboxOfDeliveryOp, doomed);
    expect(given).toMatchObject({ status: 'failed', last_code: 503, last_error: expect.stringMatching(/^gave up after \d+ attempts within the retry window: HTTP 503/) });
    expect(given!.attempts).toBeGreaterThanOrEqual(2);
    expect(given!.attempt_log.every((a) => a.code === 503)).toBe(true);
    expect(await t.run(outboxOfDeliveryOp, next)).toEqual([expect.objectContaining({ status: 'done', attempts: 1, last_code: 200 })]);
    // In order: nothing of the next delivery went out before the first was given up.
    expect(target.seen.map((s) => s.headers['svix-id']).filter((id, i, all) => id !== all[i - 1])).toEqual(['msg_doomed', 'msg_next']);
  });

  it('two targets with filters get exactly their events; a duplicate is not forwarded again', async () => {
    const sleepApp = await app();
    const vitalApp = await app();
    const t = await startTestReceiver({ targets: [parseForwardTarget(`oura:sleep.*=${sleepApp.url}/sleep`), parseForwardTarget(`vital=${vitalApp.url}/vital`)] });
    receivers.push(t);
    const oura = (dataType: string, objectId: string) => {
      const body = JSON.stringify({ event_type: 'create', data_type: dataType, object_id: objectId, event_time: '2026-03-02T07:00:00+00:00', user_id: 'ou' });
      return { body, headers: ouraHeaders(TEST_SECRETS.oura, body) };
    };
    const sent = [oura('sleep', 's-1'), oura('daily_activity', 'a-1'), vital('msg_a'), oura('sleep', 's-2'), vital('msg_a'), vital('msg_b')];
    for (const [i, delivery] of sent.entries()) await send(`${t.receiver.url}/${i % 3 === 2 || i >= 4 ? 'vital' : 'oura'}`, delivery);
    await until(() => sleepApp.seen.length === 2 && vitalApp.seen.length === 2, 'both targets');
    await t.receiver.idle();
    expect(sleepApp.seen.map((s) => JSON.parse(s.body).object_id)).toEqual(['s-1', 's-2']);
    expect(vitalApp.seen.map((s) => s.headers['svix-id'])).toEqual(['msg_a', 'msg_b']);
  });

  it('credentials in the URL go as Basic authentication and are never stored or shown', async () => {
    const target = await app();
    const withCredentials = target.url.replace('http://', 'http://hookuser:s3cret-pass@');
    const t = await startTestReceiver({ targets: [parseForwardTarget(`${withCredentials}/hook`)] });
    receivers.push(t);
    await send(`${t.receiver.url}/vital`, vital('msg_auth'));
    await until(() => target.seen.length === 1, 'the forward');
    await t.receiver.idle();
    expect(target.seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('hookuser:s3cret-pass').toString('base64')}`);
    const stored = JSON.stringify(await t.rows('SELECT * FROM outbox_targets')) + JSON.stringify(await t.rows('SELECT * FROM outbox'));
    expect(stored).not.toContain('s3cret');
    expect(JSON.stringify(t.events)).not.toContain('s3cret');
    expect(t.events.find((e) => e.type === 'forward')).toMatchObject({ url: expect.stringMatching(/^http:\/\/hook\*\*\*\*:\*\*\*\*@127\.0\.0\.1:\d+\/hook$/) });
  });

  it('two receivers on one database forward each delivery once, in order, one at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: string[] = [];
    const server = await startServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      seen.push(String(req.headers['svix-id']));
      req.resume();
      // Slow enough that both receivers want to send at the same time.
      setTimeout(() => {
        inFlight--;
        res.writeHead(seen.length % 3 === 0 ? 503 : 200).end();
      }, 20);
    });
    servers.push(server);
    const target = parseForwardTarget(`${server.url}/hook`);
    const a = await startTestReceiver({ targets: [target], outbox: { retryDelayMs: () => 20, pollMs: 50 } });
    receivers.push(a);
    const b = await startTestReceiver({ location: a.location, targets: [target], outbox: { retryDelayMs: () => 20, pollMs: 50 } });
    receivers.push(b);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push(`msg_${i}`);
      expect((await send(`${(i % 2 ? a : b).receiver.url}/vital`, vital(`msg_${i}`, i))).status).toBe(200);
    }
    await until(() => new Set(seen).size === 20, 'every delivery forwarded');
    await Promise.all([a.receiver.idle(), b.receiver.idle()]);
    // Each 503 was retried, so a delivery may appear twice in a row, never out of order and never two at once.
    expect(seen.filter((id, i) => id !== seen[i - 1])).toEqual(ids);
    expect(most).toBe(1);
  });
});

// The upgrade of an old SQLite file.
describe.skipIf(onPostgres)('the outbox in an existing database', () => {
  it('a schema-7 file gains the outbox in place; its deliveries stay and a new target starts after them', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'v7.db');
    const old = openDatabase(file, { migrateTo: 7 });
    old.prepare(
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, status)
       VALUES ('vital', ?, 'POST', '/vital', '[]', ?, 1, 'vital:msg_old', 'processed')`,
    ).run(new Date().toISOString(), Buffer.from('{"event_type":"daily.data.sleep.created"}'));
    old.close();
    const target = await app();
    const db = openDatabase(file);
    const { startReceiver } = await import('../src/receiver/server.js');
    const { buildProviders } = await import('../src/providers/registry.js');
    const r = await startReceiver({ db, port: 0, providers: buildProviders({ secrets: TEST_SECRETS }), fetchOuraDocument: async () => null, targets: [parseForwardTarget(target.url)] });
    try {
      await send(`${r.url}/vital`, vital('msg_new'));
      await until(() => target.seen.length === 1, 'the new delivery forwarded');
      await r.idle();
      expect(target.seen.map((s) => s.headers['svix-id'])).toEqual(['msg_new']);
      expect((db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n).toBe(2);
    } finally {
      await r.close();
      db.close();
    }
  });
});

describe('forwarding in wearhook listen', () => {
  it('SIGKILL while the target is down, restart once it is up: every delivery forwarded, each once, in order; events show lists the attempts', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: await testDatabase(dir), WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital };
    // A port that refuses connections until the app starts on it.
    const reserved = await app();
    await reserved.close();
    const url = `http://127.0.0.1:${reserved.port}/hook`;
    const args = ['--forward-to', url, '--retry-base-ms', '100'];

    const first = await startListen(env, args);
    listeners.push(first);
    // stderr is a pipe of its own: its lines may come in after the ready line on stdout.
    await until(() => first.stderr().includes(`forwarding every delivery to ${url}`), 'the forwarding line');
    expect(first.stderr()).toContain(`database ${storeLocation(env.WEARHOOK_DB).shown}`);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(`msg_${i}`);
      expect((await send(`${first.url}/vital`, vital(`msg_${i}`, i))).status).toBe(200);
    }
    // The first is being retried (in order, the others wait behind it).
    await first.waitForLine((l) => l.type === 'forward' && l.status === 'retrying' && (l.attempt as number) >= 2, 'a second refused attempt');
    expect(await first.stop('SIGKILL')).toBe('SIGKILL');

    const target = await app(() => ({ status: 204 }), reserved.port);
    const second = await startListen(env, args);
    listeners.push(second);
    await until(() => target.seen.length >= 6, 'six forwards');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(target.seen.map((s) => s.headers['svix-id'])).toEqual(ids);

    const listed = JSON.parse((await runCli(['events', 'list', '--json'], { env })).stdout) as { id: number }[];
    const oldest = Math.min(...listed.map((r) => r.id));
    const shown = await runCli(['events', 'show', String(oldest)], { env });
    expect(shown.stdout).toMatch(new RegExp(`forwards\\n  ${url.replace(/[/.]/g, '\\$&')}: delivered \\(204\\) after (\\d+) attempts\\n    1\\. \\S+ \\S+  no answer \\(\\d+ ms\\)  .*connection refused`));
    const json = JSON.parse((await runCli(['events', 'show', String(oldest), '--json'], { env })).stdout) as { forwards: { status: string; attempt_log: { code: number | null }[] }[] };
    expect(json.forwards[0]!.status).toBe('done');
    expect(json.forwards[0]!.attempt_log.at(-1)!.code).toBe(204);
    expect(json.forwards[0]!.attempt_log.slice(0, -1).every((a) => a.code === null)).toBe(true);
  });

  // forward-retry on PostgreSQL: test/postgres/outbox.test.ts; checked here once, on SQLite.
  it.skipIf(onPostgres)('a refusal that is not retried fails at once; events forward-retry sends it again by hand', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: await testDatabase(dir), WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital };
    let status = 400;
    const target = await app(() => ({ status }));
    const l = await startListen(env, ['--forward-to', `vital=${target.url}/hook`, '--forward-to', 'oura=http://127.0.0.1:9/never']);
    listeners.push(l);
    const res = await send(`${l.url}/vital`, vital('msg_refused'));
    const id = res.json().id as number;
    const failed = await l.waitForLine((line) => line.type === 'forward', 'the refused forward');
    expect(failed).toMatchObject({ id, status: 'failed', http_status: 400, error: expect.stringMatching(/^HTTP 400: the app says no \(not retried/) });
    await l.stop('SIGTERM');

    status = 202;
    const retried = await runCli(['events', 'forward-retry', String(id)], { env });
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toMatch(new RegExp(`^#${id} -> ${target.url}/hook: 202 delivered \\(\\d+ ms\\)\\n$`));
    expect(target.seen).toHaveLength(2);
    const again = await runCli(['events', 'forward-retry', String(id)], { env });
    expect(again.stdout).toMatch(/already delivered/);
    const none = await runCli(['events', 'forward-retry', String(id), '--to', 'http://127.0.0.1:9/elsewhere'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/was never forwarded to http:\/\/127\.0\.0\.1:9\/elsewhere; `wearhook events replay/);
  });

  // Flags, before any store: checked once, on SQLite.
  it.skipIf(onPostgres)('refuses a malformed --forward-to or --exec with exit 2', async () => {
    for (const [args, message] of [
      [['--forward-to', 'fitbit:*=http://x'], /--forward-to: unknown provider "fitbit"/],
      [['--forward-to', 'not a url'], /"not a url" is not a URL, or FILTER=URL/],
      [['--forward-to', 'ftp://x'], /"ftp:\/\/x" is not an http\(s\) URL/],
      [['--exec', './hook.sh'], /--exec takes FILTER=COMMAND/],
      [['--exec', "*=sh -c 'unclosed"], /cannot be split into words/],
    ] as const) {
      const res = await runCli(['listen', '--port', '0', ...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(message);
    }
  });
});
