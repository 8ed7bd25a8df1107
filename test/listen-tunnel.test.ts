import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { storeDocumentOp } from '../src/store/documents.js';
import { ouraDocumentInput } from '../src/providers/oura/documents.js';
import { runCli, tempDir } from './helpers/cli.js';
import { execute, onPostgres, queryRows, runOp, testDatabase } from './helpers/engine.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { LocaltunnelTestServer } from './helpers/localtunnel-server.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { startFakeOuraSubs, type FakeOuraSubs } from './helpers/oura-subs-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { send } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * `wearhook listen --tunnel localtunnel` end to end, as child processes, against a
 * localtunnel-protocol server and Oura look-alikes, all on 127.0.0.1. The subscriptions and
 * catch-up run on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES); the tunnel itself
 * and the refused flags once, on SQLite.
 */

let dir: string;
let env: Record<string, string>;
let listen: ListenProcess | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(async () => {
  dir = tempDir();
  env = {
    WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
    WEARHOOK_DB: await testDatabase(dir),
    WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard,
  };
});
afterEach(async () => {
  await listen?.stop('SIGKILL');
  listen = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function tunnelServer(options?: Parameters<typeof LocaltunnelTestServer.start>[0]): Promise<LocaltunnelTestServer> {
  const server = await LocaltunnelTestServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

async function storedDelivery(id: number): Promise<{ body: Buffer; headers: [string, string][] }> {
  const [row] = await queryRows<{ body: Buffer; headers: string }>(env.WEARHOOK_DB!, 'SELECT body, headers FROM deliveries WHERE id = ?', [id]);
  return { body: row!.body, headers: JSON.parse(row!.headers) as [string, string][] };
}

/** Poll a condition of the world outside the child (a fake's state) until it holds. */
async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}\nstderr:\n${listen?.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A signed Standard Webhooks delivery through the public URL; resolves with the stored id. */
async function deliver(publicUrl: string, id: string, body: Buffer): Promise<number> {
  const res = await send(`${publicUrl}/standard`, { method: 'POST', headers: standardHeaders(TEST_SECRETS.standard, id, body), body });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { id: number }).id;
}

describe('listen --tunnel localtunnel', () => {
  // The tunnel does not depend on the store (bytes stored on PostgreSQL: receiver-http): checked once, on SQLite.
  it.skipIf(onPostgres)('carries a signed delivery through the tunnel byte for byte, and recovers from the tunnel server dying', async () => {
    let server = await tunnelServer();
    listen = await startListen(env, ['--tunnel', 'localtunnel', '--tunnel-server', server.url, '--health-interval', '1']);
    const ready = listen.lines()[0]!;
    const publicUrl = ready.public_url as string;
    expect(ready).toMatchObject({ type: 'ready', url: listen.url });
    expect(publicUrl).toBe(server.publicUrl([...server.clients.keys()][0]!));
    expect(listen.stderr()).toContain(`public URL: ${publicUrl}`);
    expect(listen.stderr()).toMatch(new RegExp(`Oura\\s+${publicUrl}/oura`));

    // Exact bytes: odd spacing, escapes and characters outside ASCII must survive the trip.
    const body = Buffer.from('{ "type":"wearhook.test" ,\n "data": {"note":"caf\u00e9 \\u00e9 \u{1F4A4}","n":1.50} }', 'utf8');
    const firstId = await deliver(publicUrl, 'msg_tunnel_1', body);
    const stored = await storedDelivery(firstId);
    expect(Buffer.compare(stored.body, body)).toBe(0);
    expect(stored.headers).toContainEqual(['webhook-id', 'msg_tunnel_1']);

    // The tunnel server dies: wearhook notices by itself and says so.
    const { port } = server;
    const publicPorts = new Map(server.publicPorts);
    await server.close();
    const down = await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'down', 'the tunnel going down');
    expect(down.public_url).toBe(publicUrl);
    // stderr is its own pipe: its line may arrive just after the NDJSON one.
    await vi.waitFor(() => expect(listen!.stderr()).toContain(`TUNNEL DOWN since ${down.since as string}: ${publicUrl} no longer reaches wearhook`));

    // It comes back on the same address; wearhook reconnects without help, to the same URL.
    server = await tunnelServer({ port, publicPorts });
    const up = await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'up', 'the tunnel coming back');
    expect(up.public_url).toBe(publicUrl);
    expect(up.down_for_s).toEqual(expect.any(Number));
    await vi.waitFor(() => expect(listen!.stderr()).toMatch(/tunnel back up after [\d.]+ s down at /));

    const again = Buffer.from('{"type":"wearhook.test","data":{"after":"the outage"}}');
    const secondId = await deliver(publicUrl, 'msg_tunnel_2', again);
    expect(Buffer.compare((await storedDelivery(secondId)).body, again)).toBe(0);

    expect(await listen.stop('SIGINT')).toBe(0);
  });

  // Refused before the store is opened: checked once, on SQLite.
  it.skipIf(onPostgres)('refuses what cannot work before anything starts, with the fix', async () => {
    const noCloudflared = tempDir('wearhook-nopath-');
    cleanups.push(() => fs.rmSync(noCloudflared, { recursive: true, force: true }));
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--tunnel', 'cloudflared'], { PATH: noCloudflared }, /--tunnel cloudflared needs the cloudflared program, which is not on PATH: install it/],
      [['--tunnel', 'ngrok'], {}, /--tunnel ngrok needs an ngrok auth token: export NGROK_AUTHTOKEN=/],
      [['--subscribe', '--data-type', 'sleep'], {}, /--subscribe needs a public URL for Oura to call: add --tunnel localtunnel/],
      [['--tunnel', 'localtunnel', '--subscribe', '--data-type', 'sleep'], {}, /The Oura client id is not set: export OURA_CLIENT_ID=/],
      [['--tunnel', 'localtunnel', '--subscribe'], { OURA_CLIENT_ID: 'x', OURA_CLIENT_SECRET: 'y' }, /--data-type sleep,daily_readiness,\.\.\. or --all/],
      [['--tunnel', 'localtunnel', '--keep-subscriptions'], {}, /--keep-subscriptions only apply with --subscribe/],
      [['--public-url', 'https://x.example', '--tunnel', 'localtunnel'], {}, /use one of them/],
      [['--tunnel', 'bore'], {}, /Allowed choices are none, localtunnel, ngrok, cloudflared/],
    ];
    for (const [args, extra, message] of cases) {
      const res = await runCli(['listen', '--port', '0', ...args], { env: { ...env, ...extra } });
      expect({ args, code: res.code, stderr: res.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(message) });
    }
  });
});

describe('listen --subscribe', () => {
  let oura: OuraFake;
  let subs: FakeOuraSubs;

  /** One Oura base URL, as wearhook sees it: subscriptions at one fake, data and tokens at the other. */
  async function ouraFront(): Promise<TestServer> {
    const front = await startServer((req, res) => {
      const target = req.url?.startsWith('/v2/webhook/') ? subs : oura;
      const upstream = http.request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    cleanups.push(() => front.close());
    return front;
  }

  beforeEach(async () => {
    oura = await startOuraFake();
    subs = await startFakeOuraSubs({ clientId: oura.clientId, clientSecret: oura.clientSecret });
    cleanups.push(() => oura.close(), () => subs.close());
    const front = await ouraFront();
    Object.assign(env, oura.env(), { WEARHOOK_OURA_API_URL: front.url });
  });

  it('subscribes the public URL with the challenge passed, renews one near expiry, follows a new URL and deletes them on SIGINT (keeps them on PostgreSQL)', async () => {
    let server = await tunnelServer();
    listen = await startListen(env, [
      '--tunnel', 'localtunnel', '--tunnel-server', server.url, '--health-interval', '1',
      '--subscribe', '--data-type', 'sleep,daily_readiness', '--renew-check', '1s', '--no-catch-up',
    ]);
    const publicUrl = listen.lines()[0]!.public_url as string;
    const callback = `${publicUrl}/oura`;
    const subscribed = await listen.waitForLine((l) => l.type === 'subscribed', 'the subscriptions');
    expect(subscribed.callback_url).toBe(callback);
    const held = () => [...subs.subscriptions.values()];
    expect((subscribed.subscriptions as { id: string }[]).map((s) => s.id).sort()).toEqual(held().map((s) => s.id).sort());
    expect(held().map((s) => [s.data_type, s.event_type, s.callback_url]).sort()).toEqual(
      [
        ['daily_readiness', 'create', callback],
        ['daily_readiness', 'delete', callback],
        ['daily_readiness', 'update', callback],
        ['sleep', 'create', callback],
        ['sleep', 'delete', callback],
        ['sleep', 'update', callback],
      ],
    );
    // Oura's challenge went through the tunnel and was answered by this run.
    expect(subs.challenges).toHaveLength(6);
    expect(subs.challenges.every((c) => c.passed && c.callbackUrl === callback)).toBe(true);

    // One comes within 7 days of expiry: it is renewed, the others are left alone.
    const near = held()[2]!;
    near.expiration_time = new Date(Date.now() + 3 * 86_400_000).toISOString();
    await eventually(() => subs.requests.includes(`PUT /v2/webhook/subscription/renew/${near.id}`), 'the renewal');
    expect(Date.parse(near.expiration_time) - Date.now()).toBeGreaterThan(80 * 86_400_000);
    expect(subs.requests.filter((r) => r.includes('/renew/'))).toEqual([`PUT /v2/webhook/subscription/renew/${near.id}`]);

    // The tunnel server restarts and hands out another URL: the subscriptions follow it.
    const { port } = server;
    await server.close();
    await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'down', 'the tunnel going down');
    server = await tunnelServer({ port });
    const up = await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'up', 'the tunnel coming back');
    expect(up.previous_url).toBe(publicUrl);
    const moved = `${up.public_url as string}/oura`;
    await listen.waitForLine((l) => l.type === 'subscribed' && l.callback_url === moved, 'the subscriptions moving');
    expect(held().map((s) => s.callback_url)).toEqual(Array(6).fill(moved));
    expect(subs.challenges.filter((c) => c.callbackUrl === moved).every((c) => c.passed)).toBe(true);

    expect(await listen.stop('SIGINT')).toBe(0);
    if (onPostgres) {
      // README: on PostgreSQL they stay, since other receivers on the database rely on them.
      expect(subs.subscriptions.size).toBe(6);
      expect(listen.stderr()).toMatch(/keeping 6 subscription\(s\) for \S+\/oura/);
    } else {
      expect(subs.subscriptions.size).toBe(0);
      expect(listen.stderr()).toContain('deleted 6 subscription(s) this run made');
    }
  });

  it('keeps them with --keep-subscriptions', async () => {
    const server = await tunnelServer();
    // The server named by the environment this time, as a self-hosted one would be.
    listen = await startListen({ ...env, WEARHOOK_LOCALTUNNEL_HOST: server.url }, ['--tunnel', 'localtunnel', '--subscribe', '--data-type', 'sleep', '--keep-subscriptions', '--no-catch-up']);
    await listen.waitForLine((l) => l.type === 'subscribed', 'the subscriptions');
    expect(subs.subscriptions.size).toBe(3);
    expect(await listen.stop('SIGINT')).toBe(0);
    expect(subs.subscriptions.size).toBe(3);
    expect(listen.stderr()).toMatch(/keeping 3 subscription\(s\) for \S+\/oura; remove them with `wearhook subs delete /);
  });

  it('catches up at start on every day since the last document (a ring that synced after days offline), and again after an outage', async () => {
    await seedOuraUser(oura, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'u1', label: 'P001' });
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    // The last data stored is 20 days old; the ring then stayed offline. While wearhook was
    // stopped it synced those days, and their notifications were lost. The last delivery that
    // did arrive (a delete) came yesterday: the days to look at are the documents', not its.
    const db = env.WEARHOOK_DB!;
    const before = ouraDocumentInput('daily_readiness', 'u1', { id: 'dr-before', day: day(-20), score: 60, contributors: {} }, 'webhook');
    await runOp(db, storeDocumentOp, before, { source: 'webhook', retrievedAt: new Date() });
    await execute(
      db,
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, user_id, status)
       VALUES ('oura', ?, 'POST', '/oura', '[]', ?, 1, 'earlier', 'u1', 'processed')`,
      [new Date(Date.now() - 86_400_000).toISOString(), Buffer.from('{}')],
    );
    oura.addDocuments('u1', 'daily_readiness', [
      { id: 'dr-before', day: day(-20), score: 60, contributors: {} },
      { id: 'dr-offline-1', day: day(-19), score: 70, contributors: {} },
      { id: 'dr-offline-2', day: day(-12), score: 71, contributors: {} },
      { id: 'dr-offline-3', day: day(-3), score: 72, contributors: {} },
    ]);

    let server = await tunnelServer();
    listen = await startListen(env, ['--tunnel', 'localtunnel', '--tunnel-server', server.url, '--health-interval', '1', '--subscribe', '--data-type', 'daily_readiness']);
    const first = await listen.waitForLine((l) => l.type === 'catch-up', 'the catch-up');
    expect(first).toMatchObject({ user_id: 'u1', from: day(-20), new: 3 });
    const documents = async () => (await queryRows<{ id: string }>(db, "SELECT id FROM documents WHERE type = 'daily_readiness' ORDER BY id")).map((r) => r.id);
    expect(await documents()).toEqual(['dr-before', 'dr-offline-1', 'dr-offline-2', 'dr-offline-3']);
    await listen.waitForLine((l) => l.type === 'reconcile-pass' && l.state === 'done', 'the end of the first pass');

    // An Oura notification through the tunnel, then an outage during which Oura has a new day
    // whose notification is lost: the catch-up after it brings that day.
    const publicUrl = listen.lines()[0]!.public_url as string;
    oura.addDocuments('u1', 'daily_readiness', [{ id: 'dr-new', day: day(0), score: 90, contributors: {} }]);
    const notification = JSON.stringify({ event_type: 'create', data_type: 'daily_readiness', object_id: 'dr-new', event_time: new Date().toISOString(), user_id: 'u1' });
    const res = await send(`${publicUrl}/oura`, { method: 'POST', headers: ouraHeaders(oura.clientSecret, notification), body: notification });
    expect(res.status).toBe(200);
    await listen.waitForLine((l) => l.type === 'work' && l.status === 'processed', 'the notified document fetched');

    const { port } = server;
    const publicPorts = new Map(server.publicPorts);
    await server.close();
    await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'down', 'the tunnel going down');
    oura.addDocuments('u1', 'daily_readiness', [{ id: 'dr-during-outage', day: day(-1), score: 88, contributors: {} }]);
    server = await tunnelServer({ port, publicPorts });
    await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'up', 'the tunnel coming back');
    const second = await listen.waitForLine((l) => l.type === 'catch-up' && l !== first, 'the catch-up after the outage');
    expect(second).toMatchObject({ user_id: 'u1', new: 1 });
    expect(listen.lines().filter((l) => l.type === 'reconcile-pass' && l.state === 'started').map((l) => l.reason)).toEqual(['start', 'outage']);
    expect(await documents()).toEqual(['dr-before', 'dr-during-outage', 'dr-new', 'dr-offline-1', 'dr-offline-2', 'dr-offline-3']);
    expect(await listen.stop('SIGINT')).toBe(0);
  });
});
