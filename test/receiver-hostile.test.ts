import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onPostgres } from './helpers/engine.js';
import { send, startTestReceiver, storedCount, waitUntil, type TestReceiver } from './helpers/receiver.js';
import { nowSeconds, ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * What hostile or unlucky clients may cost the receiver: answers before bodies, timeouts, the
 * connection cap, the body budget, odd request targets, and what /healthz tells strangers.
 * Raw sockets, so that nothing between the test and the receiver completes or times out a request.
 * All of it happens before the store but the body budget's deliveries, stored on SQLite and on
 * PostgreSQL (vitest.config.ts BOTH_ENGINES); the rest runs once, on SQLite.
 */
const beforeTheStore = it.skipIf(onPostgres);

let t: TestReceiver | undefined;
const sockets = new Set<net.Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await t?.close();
  t = undefined;
});

interface Conversation {
  /** Everything the receiver wrote. */
  text(): string;
  /** Resolves with the milliseconds until the receiver closed the connection, or null if it did not within `ms`. */
  closedWithin(ms: number): Promise<number | null>;
  socket: net.Socket;
}

function connect(url: string, first = ''): Promise<Conversation> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    sockets.add(socket);
    const opened = Date.now();
    let text = '';
    let closedAt: number | null = null;
    const waiters = new Set<() => void>();
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      closedAt = Date.now();
      for (const wake of waiters) wake();
    });
    socket.on('connect', () => {
      if (first) socket.write(first);
      resolve({
        socket,
        text: () => text,
        closedWithin: (ms) =>
          new Promise((done) => {
            if (closedAt !== null) return done(closedAt - opened);
            const timer = setTimeout(() => {
              waiters.delete(wake);
              done(null);
            }, ms);
            const wake = () => {
              clearTimeout(timer);
              done(closedAt! - opened);
            };
            waiters.add(wake);
          }),
      });
    });
    socket.on('error', reject);
  });
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

describe('answers before the body', () => {
  beforeTheStore('refuses at once, without reading the body, a delivery whose signature headers are missing or whose timestamp is stale', async () => {
    t = await startTestReceiver();
    const unsigned = await connect(t.receiver.url, head(['POST /vital HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${1024 * 1024}`]));
    const stale = standardHeaders(TEST_SECRETS.vital, 'msg_stale', '{}', { seconds: nowSeconds() - 3600 });
    const old = await connect(t.receiver.url, head(['POST /vital HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(stale).map(([k, v]) => `${k}: ${v}`), 'Content-Length: 500000']));
    const oura = await connect(t.receiver.url, head(['POST /oura HTTP/1.1', 'Host: 127.0.0.1', 'x-oura-timestamp: 1', 'x-oura-signature: AB', 'Content-Length: 900000']));
    // Not a byte of any body was sent: the answers and the closed connections come from the headers alone.
    for (const c of [unsigned, old, oura]) expect(await c.closedWithin(3_000)).not.toBeNull();
    expect(unsigned.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(unsigned.text()).toContain('missing webhook-id');
    expect(old.text()).toMatch(/^HTTP\/1\.1 401 [^]*timestamp too old/);
    expect(oura.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(await storedCount(t)).toBe(0);
  });
});

describe('timeouts and the connection cap', () => {
  const limits = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 400, keepAliveTimeoutMs: 300, maxConnections: 8 };

  beforeTheStore('closes silent, slow-header, slow-body and idle kept-alive connections, and stores nothing they sent', async () => {
    t = await startTestReceiver({ limits });
    const silent = await connect(t.receiver.url);
    const slowHeaders = await connect(t.receiver.url, 'POST /vital HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const dribble = setInterval(() => slowHeaders.socket.write('a'), 100);
    const body = '{"event_type":"daily.data.sleep.created","data":{}}';
    const signed = standardHeaders(TEST_SECRETS.vital, 'msg_slow', body);
    const slowBody = await connect(t.receiver.url, head(['POST /vital HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(signed).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`]));
    let sent = 0;
    const trickle = setInterval(() => slowBody.socket.write(body.slice(sent, ++sent)), 150);
    const keptAlive = await connect(t.receiver.url, head(['GET /healthz HTTP/1.1', 'Host: 127.0.0.1']));
    try {
      for (const c of [silent, slowHeaders, slowBody, keptAlive]) expect(await c.closedWithin(5_000)).not.toBeNull();
    } finally {
      clearInterval(dribble);
      clearInterval(trickle);
    }
    expect(keptAlive.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect(sent).toBeLessThan(body.length);
    expect(await storedCount(t)).toBe(0);
  });

  beforeTheStore('makes room for a real sender by closing the oldest connections that have no request in progress', async () => {
    t = await startTestReceiver({ limits: { ...limits, idleTimeoutMs: 60_000, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 } });
    const idle = [];
    for (let i = 0; i < 20; i++) idle.push(await connect(t.receiver.url));
    const body = '{"event_type":"daily.data.sleep.created","user_id":"u","data":{"id":"s-1"}}';
    const answer = await send(`${t.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_real', body), body });
    expect(answer.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stillOpen = idle.filter((c) => !c.socket.destroyed && c.socket.readyState === 'open');
    expect(stillOpen.length).toBeLessThan(limits.maxConnections);
  });

  beforeTheStore('keeps a real sender\'s kept-alive connection, the oldest of all, while silent ones come and go, and takes its next delivery on it', async () => {
    t = await startTestReceiver({ limits: { ...limits, idleTimeoutMs: 60_000, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000 } });
    const delivery = (n: number) => {
      const body = `{"event_type":"daily.data.sleep.created","user_id":"u","data":{"id":"s-${n}"}}`;
      const signed = standardHeaders(TEST_SECRETS.vital, `msg_kept_${n}`, body);
      return head(['POST /vital HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(signed).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`]) + body;
    };
    const real = await connect(t.receiver.url, delivery(1));
    await waitUntil(() => /^HTTP\/1\.1 200 /.test(real.text()), 'the first answer');
    // Silent connections, far more than the cap: each one past it costs an idle connection its place.
    for (let i = 0; i < 20; i++) await connect(t.receiver.url);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(real.socket.destroyed).toBe(false);
    real.socket.write(delivery(2));
    await waitUntil(() => (real.text().match(/HTTP\/1\.1 200 /g) ?? []).length === 2, 'the second answer on the same connection');
    expect(await storedCount(t)).toBe(2);
  });

  it('answers 503 to a delivery whose body would exceed what all bodies together may hold, and takes it once there is room', async () => {
    t = await startTestReceiver({ limits: { bodyBudgetBytes: 300_000 } });
    const filler = Buffer.alloc(200_000, 0x20);
    filler.write('{"event_type":"daily.data.x.created","data":{}}');
    const held = standardHeaders(TEST_SECRETS.vital, 'msg_held', filler);
    // This one declares 200 kB and sends half of it: its bytes are held while it waits.
    const waiting = await connect(t.receiver.url, head(['POST /vital HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(held).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${filler.length}`]));
    waiting.socket.write(filler.subarray(0, 100_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = standardHeaders(TEST_SECRETS.vital, 'msg_second', filler);
    const refused = await send(`${t.receiver.url}/vital`, { headers: second, body: filler });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    waiting.socket.end(filler.subarray(100_000));
    await waiting.closedWithin(2_000);
    expect(waiting.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect((await send(`${t.receiver.url}/vital`, { headers: second, body: filler })).status).toBe(200);
    expect(await storedCount(t)).toBe(2);
  });
});

describe('request targets and /healthz', () => {
  beforeTheStore('answers 400 to an absolute-form target that is not a URL, and routes a valid one', async () => {
    t = await startTestReceiver();
    const invalid = await connect(t.receiver.url, head(['POST http://a:b/vital HTTP/1.1', 'Host: a', 'Content-Length: 2']) + '{}');
    await invalid.closedWithin(1_000);
    expect(invalid.text()).toMatch(/^HTTP\/1\.1 400 [^]*not a valid URL/);
    const body = '{"type":"absolute.form"}';
    const valid = await connect(t.receiver.url, head([`POST http://127.0.0.1/standard HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(standardHeaders(TEST_SECRETS.standard, 'msg_abs', body)).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`]) + body);
    await valid.closedWithin(2_000);
    expect(valid.text()).toMatch(/^HTTP\/1\.1 200 /);
    expect(t.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  beforeTheStore('shows its counters only to a request that names this machine; anyone else learns only that it is up', async () => {
    t = await startTestReceiver();
    const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: 'x', event_time: '2026-03-02T07:00:00+00:00', user_id: 'u' });
    expect((await send(`${t.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, body), body })).status).toBe(200);
    const local = await send(`${t.receiver.url}/healthz`, { method: 'GET' });
    expect(local.json()).toMatchObject({ ok: true, accepted: 1 });
    for (const host of ['attacker.example:8787', 'attacker.example', '127.0.0.1.attacker.example']) {
      const foreign = await send(`${t.receiver.url}/healthz`, { method: 'GET', headers: { host } });
      expect(foreign.status).toBe(200);
      expect(foreign.json()).toEqual({ ok: true });
    }
  });
});
