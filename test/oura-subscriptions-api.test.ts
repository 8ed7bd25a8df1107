import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient } from '../src/net/http-client.js';
import { OuraApiError, OuraValidationError } from '../src/providers/oura/api.js';
import { CallbackVerificationError, NoSuchSubscriptionError, OuraSubscriptionsApi } from '../src/providers/oura/subscriptions-api.js';
import { startServer, type TestServer } from './helpers/http-server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function apiAnswering(handler: http.RequestListener): Promise<OuraSubscriptionsApi> {
  server = await startServer(handler);
  const http = new HttpClient({ sleep: async () => {}, maxRetries: 2 });
  return new OuraSubscriptionsApi(`${server.url}/`, { clientId: 'id', clientSecret: 'secret' }, http);
}

const json = (status: number, body: unknown): http.RequestListener => (_req, res) =>
  void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const create = { callbackUrl: 'https://r.example/oura', verificationToken: 't', eventType: 'create', dataType: 'sleep' };

describe('OuraSubscriptionsApi errors', () => {
  it('reads a 422 whose string detail is about the callback as a failed verification, other 422s as field errors', async () => {
    let api = await apiAnswering(json(422, { detail: 'Verification of the callback URL failed' }));
    await expect(api.create(create)).rejects.toBeInstanceOf(CallbackVerificationError);
    await server!.close();

    api = await apiAnswering(json(422, { detail: [{ loc: ['body', 'data_type'], msg: "Input should be 'tag'", type: 'enum' }] }));
    const err = await api.create(create).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OuraValidationError);
    expect((err as OuraValidationError).details).toEqual(["body.data_type: Input should be 'tag'"]);
    await server!.close();

    api = await apiAnswering(json(422, { detail: 'event_type not allowed' }));
    await expect(api.create(create)).rejects.toThrow('Oura refused the request (422: event_type not allowed).');
  });

  it('names a duplicate pair (409) and keeps only a short excerpt of a non-JSON error page', async () => {
    let api = await apiAnswering(json(409, { detail: 'exists' }));
    await expect(api.create(create)).rejects.toThrow(/already has a sleep\/create subscription/);
    await server!.close();

    api = await apiAnswering((_req, res) => void res.writeHead(502, { 'content-type': 'text/html' }).end(`<html><body>${'Bad gateway '.repeat(100)}</body></html>`));
    const err = (await api.list().catch((e: unknown) => e)) as OuraApiError;
    expect(err).toBeInstanceOf(OuraApiError);
    expect(err.message).toMatch(/^Oura answered HTTP 502: <html><body>Bad gateway/);
    expect(err.message).toMatch(/try again later\.$/);
    expect(err.message.length).toBeLessThan(300);
  });

  it('takes a 403 after a retried DELETE as done (the first attempt went through), but a first 403 as no such subscription', async () => {
    let calls = 0;
    let api = await apiAnswering((_req, res) => {
      calls++;
      if (calls === 1) res.writeHead(503).end();
      else res.writeHead(403).end();
    });
    await expect(api.delete('abc')).resolves.toBeUndefined();
    await server!.close();

    api = await apiAnswering((_req, res) => void res.writeHead(403).end());
    await expect(api.delete('abc')).rejects.toBeInstanceOf(NoSuchSubscriptionError);
    await expect(api.renew('abc')).rejects.toThrow('no such subscription: abc');
  });

  it('sends the application credentials on every call, to the base URL without a doubled slash', async () => {
    const seen: string[] = [];
    const api = await apiAnswering((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-client-id']} ${req.headers['x-client-secret']}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await api.list();
    expect(seen).toEqual(['GET /v2/webhook/subscription id secret']);
  });
});
