import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/http-server.js';
import { HttpClient } from '../src/net/http-client.js';
import { FixedBearer, OuraApi, OuraForbiddenError, OuraValidationError } from '../src/providers/oura/api.js';

/** How the Oura client turns Oura's refusals into errors a user can act on. */

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function apiAnswering(status: number, body: unknown, headers: Record<string, string> = {}) {
  server = await startServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body)));
  const http = new HttpClient({ sleep: async () => undefined, maxRetries: 2 });
  return new OuraApi(http, server.url, new FixedBearer('t0k3n'), { userId: 'u1', label: 'P001', scopes: ['daily', 'spo2Daily'] });
}

async function firstPage(api: OuraApi, type: string) {
  for await (const page of api.collectionPages(type, { startDate: '2026-01-01', endDate: '2026-01-02' })) return page;
  return [];
}

describe('OuraApi errors', () => {
  it('lists the validation details of a 422', async () => {
    const api = await apiAnswering(422, { detail: [{ loc: ['query', 'end_date'], msg: 'end before start', type: 'value_error' }] });
    const err = await firstPage(api, 'sleep').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OuraValidationError);
    expect((err as OuraValidationError).details).toEqual(['query.end_date: end before start']);
  });

  it('accepts a 422 whose detail is a plain string', async () => {
    const api = await apiAnswering(422, { detail: 'Start date is after end date' });
    await expect(firstPage(api, 'sleep')).rejects.toThrow('(422: Start date is after end date)');
  });

  it('names the scope a 403 needs, knowing spo2Daily is the spo2 scope', async () => {
    const workout = await apiAnswering(403, {});
    const err = (await firstPage(workout, 'workout').catch((e: unknown) => e)) as OuraForbiddenError;
    expect(err).toBeInstanceOf(OuraForbiddenError);
    expect(err.scope).toBe('workout');
    expect(err.message).toContain('the `workout` scope that workout needs was not granted');
    await server!.close();
    const spo2 = await apiAnswering(403, {});
    await expect(firstPage(spo2, 'daily_spo2')).rejects.toThrow('membership has lapsed, or the `spo2` scope');
  });

  it('gives up on a rate limit that does not end, saying to try later', async () => {
    const api = await apiAnswering(429, {}, { 'retry-after': '2' });
    await expect(firstPage(api, 'sleep')).rejects.toThrow('Oura kept rate-limiting sleep requests (429) after 3 attempts');
  });

  it('stops when Oura repeats a next_token instead of looping forever', async () => {
    const api = await apiAnswering(200, { data: [{ id: 'x' }], next_token: 'same' });
    const pages = api.collectionPages('sleep');
    await expect((async () => {
      for await (const _ of pages) void _;
    })()).rejects.toThrow('repeated a next_token');
  });
});
