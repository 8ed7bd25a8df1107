import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/db.js';
import { runCli, tempDir } from './helpers/cli.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { LocaltunnelTestServer } from './helpers/localtunnel-server.js';
import { send } from './helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * `wearhook listen --tunnel localtunnel` end to end, as child processes, against a
 * localtunnel-protocol server and Oura look-alikes, all on 127.0.0.1.
 */

let dir: string;
let env: Record<string, string>;
let listen: ListenProcess | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeEach(() => {
  dir = tempDir();
  env = {
    WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
    WEARHOOK_DB: path.join(dir, 'wearhook.db'),
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

function storedDelivery(id: number): { body: Buffer; headers: [string, string][] } {
  const db = openDatabase(env.WEARHOOK_DB!, { readonly: true });
  try {
    const row = db.prepare('SELECT body, headers FROM deliveries WHERE id = ?').get(id) as { body: Buffer; headers: string };
    return { body: row.body, headers: JSON.parse(row.headers) as [string, string][] };
  } finally {
    db.close();
  }
}

/** A signed Standard Webhooks delivery through the public URL; resolves with the stored id. */
async function deliver(publicUrl: string, id: string, body: Buffer): Promise<number> {
  const res = await send(`${publicUrl}/standard`, { method: 'POST', headers: standardHeaders(TEST_SECRETS.standard, id, body), body });
  expect(res.status).toBe(200);
  return (JSON.parse(res.body) as { id: number }).id;
}

describe('listen --tunnel localtunnel', () => {
  it('carries a signed delivery through the tunnel byte for byte, and recovers from the tunnel server dying', async () => {
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
    const stored = storedDelivery(firstId);
    expect(Buffer.compare(stored.body, body)).toBe(0);
    expect(stored.headers).toContainEqual(['webhook-id', 'msg_tunnel_1']);

    // The tunnel server dies: wearhook notices by itself and says so.
    const { port } = server;
    const publicPorts = new Map(server.publicPorts);
    await server.close();
    const down = await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'down', 'the tunnel going down');
    expect(down.public_url).toBe(publicUrl);
    expect(listen.stderr()).toContain(`TUNNEL DOWN since ${down.since as string}: ${publicUrl} no longer reaches wearhook`);

    // It comes back on the same address; wearhook reconnects without help, to the same URL.
    server = await tunnelServer({ port, publicPorts });
    const up = await listen.waitForLine((l) => l.type === 'tunnel' && l.state === 'up', 'the tunnel coming back');
    expect(up.public_url).toBe(publicUrl);
    expect(up.down_for_s).toEqual(expect.any(Number));
    expect(listen.stderr()).toMatch(/tunnel back up after [\d.]+ s down at /);

    const again = Buffer.from('{"type":"wearhook.test","data":{"after":"the outage"}}');
    const secondId = await deliver(publicUrl, 'msg_tunnel_2', again);
    expect(Buffer.compare(storedDelivery(secondId).body, again)).toBe(0);

    expect(await listen.stop('SIGINT')).toBe(0);
  });

  it('refuses what cannot work before anything starts, with the fix', async () => {
    const noCloudflared = tempDir('wearhook-nopath-');
    cleanups.push(() => fs.rmSync(noCloudflared, { recursive: true, force: true }));
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['--tunnel', 'cloudflared'], { PATH: noCloudflared }, /--tunnel cloudflared needs the cloudflared program, which is not on PATH: install it/],
      [['--tunnel', 'ngrok'], {}, /--tunnel ngrok needs an ngrok auth token: export NGROK_AUTHTOKEN=/],
      [['--subscribe', '--data-type', 'sleep'], {}, /--subscribe needs a public URL for Oura to call: add --tunnel localtunnel/],
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
