import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, NetworkError, retryAfterMs } from '../src/net/http-client.js';
import { startServer, type TestServer } from './helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function recordingClient(extra: ConstructorParameters<typeof HttpClient>[0] = {}) {
  const waits: number[] = [];
  const client = new HttpClient({ sleep: async (ms) => void waits.push(ms), random: () => 1, baseDelayMs: 100, ...extra });
  return { client, waits };
}

describe('HttpClient', () => {
  it('waits what Retry-After asks on a 429, then succeeds', async () => {
    let calls = 0;
    server = await startServer((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(429, { 'retry-after': '7' }).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
    });
    const { client, waits } = recordingClient();
    const res = await client.request({ method: 'GET', url: `${server.url}/x` });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ ok: true });
    expect(waits).toEqual([7000]);
    expect(res.attempts).toBe(2);
  });

  it('retries a GET on 5xx with growing backoff and returns the final answer', async () => {
    let calls = 0;
    server = await startServer((_req, res) => {
      calls++;
      res.writeHead(calls < 3 ? 503 : 200).end('done');
    });
    const { client, waits } = recordingClient();
    const res = await client.request({ method: 'GET', url: server.url });
    expect(res.text()).toBe('done');
    expect(waits).toEqual([100, 200]);
  });

  it('gives up after maxRetries and hands back the last 5xx', async () => {
    server = await startServer((_req, res) => res.writeHead(502).end());
    const { client, waits } = recordingClient({ maxRetries: 2 });
    const res = await client.request({ method: 'GET', url: server.url });
    expect(res.status).toBe(502);
    expect(waits).toHaveLength(2);
  });

  it('never repeats a POST that the server may have processed (a single-use refresh token)', async () => {
    let calls = 0;
    server = await startServer((_req, res) => {
      calls++;
      res.writeHead(500).end();
    });
    const { client } = recordingClient();
    const res = await client.request({ method: 'POST', url: server.url, body: 'grant_type=refresh_token' });
    expect(res.status).toBe(500);
    expect(calls).toBe(1);
  });

  it('reports a refused connection as a NetworkError after retrying', async () => {
    server = await startServer((_req, res) => res.end());
    const url = server.url;
    await server.close();
    server = undefined;
    const { client, waits } = recordingClient({ maxRetries: 1 });
    await expect(client.request({ method: 'GET', url })).rejects.toThrow(NetworkError);
    await expect(client.request({ method: 'GET', url })).rejects.toThrow(/connection refused/);
    expect(waits.length).toBeGreaterThan(0);
  });

  it('times out a request that never answers', async () => {
    server = await startServer(() => {
      /* never answer */
    });
    const { client } = recordingClient({ maxRetries: 0 });
    await expect(client.request({ method: 'GET', url: server.url, timeoutMs: 200 })).rejects.toThrow(/timed out/);
  });
});

describe('retryAfterMs', () => {
  it('reads seconds, an HTTP date, or X-RateLimit-Reset', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }, now)).toBe(10_000);
    expect(retryAfterMs({ 'x-ratelimit-reset': String(now / 1000 + 20) }, now)).toBe(20_000);
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});
