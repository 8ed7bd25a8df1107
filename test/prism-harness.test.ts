import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { OURA_SPEC, startPrism, type PrismMock } from './helpers/prism.js';

// The harness every Oura contract test relies on: if Prism stopped flagging contract breaks,
// those tests would pass for the wrong reason. This proves it still does.
describe('Prism contract mock of the vendored Oura spec', () => {
  let prism: PrismMock;
  beforeAll(async () => {
    prism = await startPrism();
  }, 90_000);
  afterAll(async () => prism?.close());

  it('the vendored spec keeps paths, parameters, schemas and security but no prose', () => {
    const spec = JSON.parse(readFileSync(OURA_SPEC, 'utf8'));
    expect(spec.paths['/v2/usercollection/sleep'].get.parameters.map((p: { name: string }) => p.name)).toEqual([
      'start_date',
      'end_date',
      'next_token',
    ]);
    expect(Object.keys(spec.components.securitySchemes)).toEqual(expect.arrayContaining(['BearerAuth', 'ClientIdAuth', 'ClientSecretAuth']));
    const prose: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
      if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if ((k === 'description' || k === 'summary') && typeof v === 'string' && v !== '') prose.push(`${at}/${k}`);
          walk(v, `${at}/${k}`);
        }
      }
    };
    walk(spec, '');
    expect(prose).toEqual([]);
  });

  it('refuses a subscription call without the application credentials', async () => {
    const res = await request(`${prism.url}/v2/webhook/subscription`);
    expect(res.statusCode).toBe(401);
    await res.body.dump();
  });

  it('reports a request that breaks the contract as a violation, and a good one as none', async () => {
    prism.clear();
    const good = await request(`${prism.url}/v2/usercollection/daily_activity?start_date=2026-01-01&end_date=2026-01-02`, {
      headers: { authorization: 'Bearer test' },
    });
    expect(good.statusCode).toBe(200);
    await good.body.dump();
    expect(prism.violations()).toEqual([]);

    const bad = await request(`${prism.url}/v2/usercollection/daily_activity?start_date=yesterday`, {
      headers: { authorization: 'Bearer test' },
    });
    expect(bad.statusCode).toBe(422);
    await bad.body.dump();
    expect(prism.violations().join('\n')).toMatch(/start_date/);
  });
});
