import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, tempDir } from './helpers/cli.js';
import { startPrism, type PrismMock } from './helpers/prism.js';
import { onPostgres } from './helpers/engine.js';

// Every `subs` operation against Prism serving Oura's own OpenAPI description, security
// included: each request must carry x-client-id and x-client-secret and match the spec.
// The wire to Oura, once: the store side of the same commands runs on both engines in subs-cli.test.ts.
describe.skipIf(onPostgres)('subs against the Oura contract (Prism)', () => {
  let prism: PrismMock;
  let env: Record<string, string>;

  beforeAll(async () => {
    prism = await startPrism();
    const dir = tempDir('wearhook-subs-contract-');
    env = {
      WEARHOOK_CONFIG_DIR: dir,
      WEARHOOK_DB: path.join(dir, 'wearhook.db'),
      OURA_CLIENT_ID: 'contract-client-id',
      OURA_CLIENT_SECRET: 'contract-client-secret',
      WEARHOOK_OURA_API_URL: prism.url,
    };
  }, 90_000);
  afterAll(async () => prism?.close());
  beforeEach(() => prism.clear());

  /**
   * Prism's log reaches us through a pipe, a little after its answers: a marker request, once
   * seen in the log, shows that everything logged about the requests before it has arrived.
   */
  let markers = 0;
  async function logSettled() {
    const marker = `log-marker-${++markers}`;
    const res = await request(`${prism.url}/v2/webhook/subscription/renew/${marker}`, {
      method: 'PUT',
      headers: { 'x-client-id': env.OURA_CLIENT_ID!, 'x-client-secret': env.OURA_CLIENT_SECRET! },
    });
    await res.body.dump();
    await vi.waitFor(() => expect(prism.log()).toContain(marker), { timeout: 10_000, interval: 20 });
  }

  async function subs(args: string[]) {
    const res = await runCli(['subs', ...args], { env });
    expect(res.stderr, res.stderr).not.toMatch(/^error:/m);
    expect(res.code).toBe(0);
    await logSettled();
    expect(prism.violations(), prism.log()).toEqual([]);
    return res;
  }

  /** Prism logs each request as "<method> <path> ... Request received"; markers left out. */
  const received = () =>
    [...prism.log().matchAll(/\[HTTP SERVER\] (\w+) (\S+) /g)].map((m) => `${m[1]!.toUpperCase()} ${m[2]}`).filter((r) => !r.includes('log-marker-'));

  it('list', async () => {
    const res = await subs(['list', '--json']);
    const list = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
    expect(list.length).toBeGreaterThan(0);
    expect(list[0]).toHaveProperty('expires_in_s');
    expect(received()).toContain('GET /v2/webhook/subscription');
  });

  it('create', async () => {
    const res = await subs(['create', '--callback-url', 'https://receiver.example/oura', '--data-type', 'sleep,daily_readiness', '--event-type', 'create,delete', '--json']);
    const outcomes = JSON.parse(res.stdout) as Array<{ status: string }>;
    expect(outcomes.map((o) => o.status)).toEqual(['created', 'created', 'created', 'created']);
    expect(received().filter((r) => r.startsWith('POST'))).toHaveLength(4);
  });

  it('renew by id, --all and --expiring-within', async () => {
    await subs(['renew', '5d3fe17b-f880-4d93-b9b6-afbfb76c1e78']);
    await subs(['renew', '--all']);
    await subs(['renew', '--expiring-within', '7d']);
    expect(received().filter((r) => r.startsWith('PUT /v2/webhook/subscription/renew/')).length).toBeGreaterThanOrEqual(3);
  });

  it('delete by id and --all', async () => {
    const one = await subs(['delete', '5d3fe17b-f880-4d93-b9b6-afbfb76c1e78', '--yes']);
    expect(one.stdout).toContain('deleted  5d3fe17b-f880-4d93-b9b6-afbfb76c1e78');
    await subs(['delete', '--all', '--yes']);
    expect(received().filter((r) => r.startsWith('DELETE /v2/webhook/subscription/')).length).toBeGreaterThanOrEqual(2);
  });

  it('has its security check on: a subscription call without both credential headers is refused', async () => {
    for (const headers of [{}, { 'x-client-id': 'contract-client-id' }, { 'x-client-secret': 'contract-client-secret' }]) {
      const res = await request(`${prism.url}/v2/webhook/subscription/renew/abc`, { method: 'PUT', headers });
      expect(res.statusCode).toBe(401);
      await res.body.dump();
    }
    await logSettled();
  });
});
