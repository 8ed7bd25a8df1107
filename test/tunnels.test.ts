import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { HttpClient } from '../src/net/http-client.js';
import { LocaltunnelProvider } from '../src/tunnels/localtunnel.js';
import { PublicUrlProvider } from '../src/tunnels/public-url.js';
import { CloudflaredProvider, parseQuickTunnelUrl } from '../src/tunnels/cloudflared.js';
import { NgrokProvider } from '../src/tunnels/ngrok.js';
import { chooseTunnel } from '../src/tunnels/index.js';
import { createHealthKey, createHealthProbe, healthProof } from '../src/tunnels/health.js';
import { TunnelSupervisor, type TunnelDown, type TunnelUp } from '../src/tunnels/supervisor.js';
import type { TunnelSession } from '../src/tunnels/tunnel.js';
import { LocaltunnelTestServer } from './helpers/localtunnel-server.js';
import { startServer, type TestServer } from './helpers/http-server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const http = new HttpClient({ maxRetries: 0, timeoutMs: 5000 });

/** A stand-in receiver: answers the health probe with its key and records request bodies. */
async function startReceiver(key = createHealthKey()) {
  const bodies: Buffer[] = [];
  const server = await startServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      const probe = url.searchParams.get('probe');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...(probe ? { proof: healthProof(key, probe) } : {}) }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(body);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(createHash('sha256').update(body).digest('hex'));
    });
  });
  cleanups.push(() => server.close());
  return { server, key, bodies };
}

async function startTunnelServer(options?: Parameters<typeof LocaltunnelTestServer.start>[0]) {
  const server = await LocaltunnelTestServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

/** Events of a supervisor as promises a test can wait for, in order. */
function recordEvents() {
  const events: Array<{ type: 'up'; e: TunnelUp } | { type: 'down'; e: TunnelDown }> = [];
  const waiters: Array<() => void> = [];
  const push = (ev: (typeof events)[number]) => {
    events.push(ev);
    for (const w of waiters.splice(0)) w();
  };
  const next = async <T extends 'up' | 'down'>(type: T, after: number) => {
    for (;;) {
      const found = events.slice(after).find((ev) => ev.type === type);
      if (found) return found.e as T extends 'up' ? TunnelUp : TunnelDown;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return {
    events,
    onUp: (e: TunnelUp) => push({ type: 'up', e }),
    onDown: (e: TunnelDown) => push({ type: 'down', e }),
    next,
  };
}

function bytesWithTraps(): Buffer {
  // Invalid UTF-8, a multi-byte character, NULs and CRLFs: any re-encoding on the way would show.
  const head = Buffer.from('{"note":"caf\u00e9 \u{1F4A4}","raw":"');
  return Buffer.concat([head, Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0xc3]), Buffer.alloc(200_000, 0x61), Buffer.from('"}')]);
}

describe('localtunnel provider', () => {
  it('opens a tunnel and carries request bytes through it unchanged', async () => {
    const receiver = await startReceiver();
    const tunnelServer = await startTunnelServer();
    const session = await new LocaltunnelProvider(tunnelServer.url, http).open({ host: '127.0.0.1', port: receiver.server.port });
    cleanups.push(() => session.close());
    expect(session.publicUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const body = bytesWithTraps();
    const res = await http.request({ method: 'POST', url: `${session.publicUrl}/oura`, body, retry: 'never' });
    expect(res.status).toBe(200);
    expect(res.text()).toBe(createHash('sha256').update(body).digest('hex'));
    expect(Buffer.compare(receiver.bodies[0]!, body)).toBe(0);

    // Several requests at once share the pooled sockets.
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => http.request({ method: 'POST', url: `${session.publicUrl}/x`, body: `n${i}`, retry: 'never' })),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('names the server and its answer when the server refuses a tunnel', async () => {
    const notLocaltunnel = await startServer((_req, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"over capacity"}'));
    cleanups.push(() => notLocaltunnel.close());
    await expect(new LocaltunnelProvider(notLocaltunnel.url, http).open({ host: '127.0.0.1', port: 1 })).rejects.toThrow(
      `The localtunnel server ${notLocaltunnel.url} answered 503: over capacity.`,
    );
  });
});

describe('health probe', () => {
  it('passes only for the run that holds the key', async () => {
    const mine = await startReceiver();
    const other = await startReceiver(createHealthKey());
    const catchAll = await startServer((_req, res) => res.writeHead(200).end('{"status":"ok"}'));
    cleanups.push(() => catchAll.close());
    const probe = createHealthProbe(http, mine.key);
    expect(await probe(mine.server.url)).toBeUndefined();
    expect(await probe(other.server.url)).toMatch(/not as this wearhook run/);
    expect(await probe(catchAll.url)).toMatch(/not as this wearhook run/);
    const gone = mine.server.url;
    await mine.server.close();
    expect(await probe(gone)).toMatch(/connection refused/);
  });
});

describe('tunnel supervisor', () => {
  /** A supervisor probing `receiver` through the test localtunnel server, with short intervals. */
  function superviseTunnel(
    serverUrl: string,
    receiver: Awaited<ReturnType<typeof startReceiver>>,
    events: ReturnType<typeof recordEvents>,
    extra: { backoffMaxMs?: number } = {},
  ): TunnelSupervisor {
    const supervisor = new TunnelSupervisor({
      provider: new LocaltunnelProvider(serverUrl, http),
      target: { host: '127.0.0.1', port: receiver.server.port },
      probe: createHealthProbe(http, receiver.key),
      intervalMs: 200,
      backoffBaseMs: 100,
      ...extra,
      onUp: events.onUp,
      onDown: events.onDown,
    });
    cleanups.push(() => supervisor.stop());
    return supervisor;
  }

  it('reports an outage of the tunnel server, reconnects by itself and says how long it was down', async () => {
    const receiver = await startReceiver();
    let tunnelServer = await startTunnelServer();
    const events = recordEvents();
    const supervisor = superviseTunnel(tunnelServer.url, receiver, events, { backoffMaxMs: 400 });
    const url = await supervisor.start();

    const { port } = tunnelServer;
    const publicPorts = new Map(tunnelServer.publicPorts);
    await tunnelServer.close();
    const down = await events.next('down', 0);
    expect(down.publicUrl).toBe(url);
    expect(down.reason).toMatch(/refused/);

    // The server comes back on the same address and gives the old name its old URL.
    tunnelServer = await startTunnelServer({ port, publicPorts });
    const up = await events.next('up', 0);
    expect(up.publicUrl).toBe(url);
    expect(up.previousUrl).toBeUndefined();
    expect(up.downForMs).toBeGreaterThanOrEqual(0);
    const res = await http.request({ method: 'POST', url: `${url}/oura`, body: 'again', retry: 'never' });
    expect(res.status).toBe(200);
    expect(receiver.bodies.map(String)).toContain('again');
  });

  it('reports the new URL when the tunnel comes back elsewhere', async () => {
    const receiver = await startReceiver();
    const tunnelServer = await startTunnelServer();
    const events = recordEvents();
    const supervisor = superviseTunnel(tunnelServer.url, receiver, events);
    const url = await supervisor.start();
    const { port } = tunnelServer;
    await tunnelServer.close();
    await events.next('down', 0);
    await startTunnelServer({ port });
    const up = await events.next('up', 0);
    expect(up.previousUrl).toBe(url);
    expect(up.publicUrl).not.toBe(url);
    expect((await http.request({ method: 'POST', url: `${up.publicUrl}/x`, body: 'moved', retry: 'never' })).status).toBe(200);
  });

  it('refuses to start when the URL does not reach this run', async () => {
    const receiver = await startReceiver();
    const impostor = await startReceiver(createHealthKey());
    const supervisor = new TunnelSupervisor({
      provider: new PublicUrlProvider(`${impostor.server.url}/`),
      target: { host: '127.0.0.1', port: receiver.server.port },
      probe: createHealthProbe(http, receiver.key),
      intervalMs: 200,
      settleMs: 300,
    });
    await expect(supervisor.start()).rejects.toThrow(
      new RegExp(`^${impostor.server.url} does not reach this wearhook \\(.*not as this wearhook run.*\\); make your tunnel or proxy forward it to http://127\\.0\\.0\\.1:${receiver.server.port}\\.$`),
    );
  });

  it('watches a --public-url it cannot reopen, and reports when it answers again', async () => {
    const receiver = await startReceiver();
    // The user's "proxy": forwards to the receiver while it is on.
    let proxyOn = true;
    const proxy = await startServer(async (req, res) => {
      if (!proxyOn) return void res.writeHead(502).end();
      const upstream = await http.request({ method: 'GET', url: `${receiver.server.url}${req.url}`, retry: 'never' });
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(upstream.body);
    });
    cleanups.push(() => proxy.close());
    const events = recordEvents();
    const supervisor = new TunnelSupervisor({
      provider: new PublicUrlProvider(proxy.url),
      target: { host: '127.0.0.1', port: receiver.server.port },
      probe: createHealthProbe(http, receiver.key),
      intervalMs: 200,
      backoffBaseMs: 100,
      backoffMaxMs: 200,
      onUp: events.onUp,
      onDown: events.onDown,
    });
    cleanups.push(() => supervisor.stop());
    expect(await supervisor.start()).toBe(proxy.url);
    proxyOn = false;
    expect((await events.next('down', 0)).reason).toBe(`${proxy.url} answered 502`);
    proxyOn = true;
    expect((await events.next('up', 0)).publicUrl).toBe(proxy.url);
  });
});

describe('cloudflared provider', () => {
  function fakeCloudflared(script: string): NodeJS.ProcessEnv {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wearhook-cf-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'cloudflared');
    fs.writeFileSync(file, `#!${process.execPath}\n${script}\n`, { mode: 0o755 });
    return { PATH: dir };
  }

  it('reads the quick tunnel URL from its log and notices when it dies', async () => {
    const env = fakeCloudflared(`
      const args = process.argv.slice(2);
      require('fs').writeFileSync(require('path').join(require('path').dirname(process.argv[1]), 'state.json'), JSON.stringify({ pid: process.pid, args }));
      process.stderr.write('2026-01-01T00:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...\\n');
      process.stderr.write('2026-01-01T00:00:00Z INF |  https://api.trycloudflare.com is not it  |\\n');
      setTimeout(() => process.stderr.write('2026-01-01T00:00:01Z INF |  https://calm-words-here.trycloudflare.com  |\\n'), 50);
      process.on('SIGUSR2', () => process.exit(3));
      setInterval(() => {}, 1000);
    `);
    const session = await new CloudflaredProvider({ env }).open({ host: '0.0.0.0', port: 8787 });
    cleanups.push(() => session.close());
    expect(session.publicUrl).toBe('https://calm-words-here.trycloudflare.com');
    const lost = new Promise<string>((resolve) => session.onLost(resolve));
    const state = JSON.parse(fs.readFileSync(path.join(env.PATH!, 'state.json'), 'utf8')) as { pid: number; args: string[] };
    expect(state.args).toEqual(['tunnel', '--no-autoupdate', '--url', 'http://127.0.0.1:8787']);
    process.kill(state.pid, 'SIGUSR2');
    expect(await lost).toBe('cloudflared exited (code 3)');
  });

  it('says what cloudflared printed when it exits without a URL', async () => {
    const env = fakeCloudflared(`process.stderr.write('ERR failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: i/o timeout\\n'); process.exit(1);`);
    await expect(new CloudflaredProvider({ env }).open({ host: '127.0.0.1', port: 1 })).rejects.toThrow(
      /cloudflared exited \(code 1\) before giving a URL; it said: ERR failed to request quick Tunnel/,
    );
  });

  it('tells how to install it when it is not on PATH', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'wearhook-empty-'));
    cleanups.push(() => fs.rmSync(empty, { recursive: true, force: true }));
    expect(() => new CloudflaredProvider({ env: { PATH: empty } }).check()).toThrow(
      /--tunnel cloudflared needs the cloudflared program, which is not on PATH: install it \(https:\/\/developers\.cloudflare\.com/,
    );
  });

  it('finds the URL only on trycloudflare.com, never the API host', () => {
    expect(parseQuickTunnelUrl('INF |  https://a-b-c.trycloudflare.com   |')).toBe('https://a-b-c.trycloudflare.com');
    expect(parseQuickTunnelUrl('Post "https://api.trycloudflare.com/tunnel"')).toBeUndefined();
    expect(parseQuickTunnelUrl('INF Starting metrics server on 127.0.0.1:20241/metrics')).toBeUndefined();
  });
});

describe('choosing a tunnel', () => {
  it('refuses --public-url together with a tunnel, and ngrok without a token or the package', async () => {
    const base = { localtunnelHost: 'http://127.0.0.1:1', http };
    await expect(chooseTunnel({ ...base, kind: 'localtunnel', publicUrl: 'https://x.example' })).rejects.toThrow(/use one of them/);
    await expect(chooseTunnel({ ...base, kind: 'ngrok' })).rejects.toThrow(/NGROK_AUTHTOKEN/);
    await expect(
      new NgrokProvider('tok_123', () => Promise.reject(new Error('Cannot find module'))).check(),
    ).rejects.toThrow(/optional package @ngrok\/ngrok.*npm install @ngrok\/ngrok/);
    expect(await chooseTunnel({ ...base, kind: 'none' })).toBeUndefined();
  });

  it('hands ngrok the receiver address and the token, and closes what it opened', async () => {
    const calls: Array<{ addr: string; authtoken: string }> = [];
    let closed = false;
    const provider = new NgrokProvider('tok_123', async () => ({
      forward: async (config) => {
        calls.push(config);
        return { url: () => 'https://abc.ngrok-free.app', close: async () => void (closed = true) };
      },
    }));
    const session: TunnelSession = await provider.open({ host: '0.0.0.0', port: 9999 });
    expect(session.publicUrl).toBe('https://abc.ngrok-free.app');
    expect(calls).toEqual([{ addr: '127.0.0.1:9999', authtoken: 'tok_123' }]);
    await session.close();
    expect(closed).toBe(true);
  });
});
