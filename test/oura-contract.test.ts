import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrism, type PrismMock } from './helpers/prism.js';
import { HttpClient } from '../src/net/http-client.js';
import { FixedBearer, OuraApi } from '../src/providers/oura/api.js';
import { DEFAULT_OURA_SYNC_TYPES } from '../src/sync/oura.js';

/**
 * The Oura client against Prism serving Oura's own OpenAPI description: every request we
 * make must pass Prism's validator (paths, query parameters, bearer security), and every
 * answer built from the spec's schemas must parse.
 */

let prism: PrismMock;
let api: OuraApi;

beforeAll(async () => {
  prism = await startPrism();
  api = new OuraApi(new HttpClient({ maxRetries: 0 }), prism.url, new FixedBearer('contract-test-token'));
}, 90_000);

afterAll(async () => {
  await prism?.close();
});

beforeEach(() => prism.clear());

/** The first `pages` pages (Prism's static answers always carry a next_token). */
async function firstPages<T>(pages: AsyncGenerator<T[]>, count: number): Promise<T[][]> {
  const out: T[][] = [];
  for await (const page of pages) {
    out.push(page);
    if (out.length === count) break;
  }
  return out;
}

function expectNoViolations(): void {
  expect(prism.violations(), prism.log()).toEqual([]);
}

describe('Oura client against the OpenAPI contract (Prism)', () => {
  it('reads personal_info', async () => {
    const info = await api.personalInfo();
    expect(typeof info.id).toBe('string');
    expectNoViolations();
  });

  it.each([...DEFAULT_OURA_SYNC_TYPES, 'workout', 'daily_spo2', 'vo2_max'])('pages the %s collection with dates and next_token', async (type) => {
    const pages = await firstPages(api.collectionPages(type, { startDate: '2026-02-28', endDate: '2026-03-06' }), 2);
    expect(pages).toHaveLength(2);
    for (const page of pages) {
      expect(Array.isArray(page)).toBe(true);
      for (const doc of page) expect(typeof (doc as { id: unknown }).id).toBe('string');
    }
    expectNoViolations();
  });

  it('pages heart rate with start_datetime and end_datetime carrying an offset', async () => {
    const [page] = await firstPages(api.heartRatePages({ startDatetime: '2026-03-01T00:00:00+02:00', endDatetime: '2026-03-01T23:59:59+02:00' }), 1);
    expect(typeof page![0]!.bpm).toBe('number');
    expectNoViolations();
  });

  it('reads one document', async () => {
    const doc = (await api.document('sleep', 'a1b2c3')) as { id: string; day: string };
    expect(typeof doc.id).toBe('string');
    expect(typeof doc.day).toBe('string');
    expectNoViolations();
  });

  it('is checked for real: a request without the bearer token is a violation', async () => {
    const res = await new HttpClient({ maxRetries: 0 }).request({ method: 'GET', url: `${prism.url}/v2/usercollection/sleep` });
    expect(res.status).toBe(401);
    expect(prism.violations().length).toBeGreaterThan(0);
  });
});
