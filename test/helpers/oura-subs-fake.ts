import crypto from 'node:crypto';
import type http from 'node:http';
import { request } from 'undici';
import { startServer, type TestServer } from './http-server.js';

/** A subscription as Oura keeps it (the token is never returned, but the fake remembers it). */
export interface FakeSubscription {
  id: string;
  callback_url: string;
  event_type: string;
  data_type: string;
  expiration_time: string;
}

export interface ChallengeRecord {
  callbackUrl: string;
  token: string;
  challenge: string;
  /** What the callback answered: its status, or the network error. */
  status: number | string;
  passed: boolean;
}

export interface FakeOuraSubs extends TestServer {
  /** What Oura holds now, by id. */
  subscriptions: Map<string, FakeSubscription>;
  /** Every challenge performed during create, in order. */
  challenges: ChallengeRecord[];
  /** The verification token each created subscription was made with. */
  tokens: Map<string, string>;
  /** Method and path of every request, in order. */
  requests: string[];
  /** Add a subscription that expires `inMs` from now (negative: already expired). */
  add(sub: Omit<FakeSubscription, 'id' | 'expiration_time'> & { id?: string; inMs: number }): FakeSubscription;
}

export interface FakeOuraSubsOptions {
  clientId?: string;
  clientSecret?: string;
  /** Answer a create with this instead of performing it (e.g. a 500 for one pair). */
  refuseCreate?: (body: Record<string, unknown>) => { status: number; body: unknown } | undefined;
  /** Answer each renewal after this long (the expiry moves only then): widens the window in which two renewals could overlap. */
  renewDelayMs?: number;
}

const DAY_MS = 86_400_000;
export const FAKE_CLIENT_ID = 'fake-client-id';
export const FAKE_CLIENT_SECRET = 'fake-client-secret-0123456789';
/**
 * Oura does not document its answer when the callback check fails; this fake answers 400
 * with a string `detail`, which wearhook must explain whatever the exact words.
 */
export const VERIFICATION_FAILED_DETAIL = 'Webhook verification failed';

/**
 * A local Oura-like webhook subscription server on 127.0.0.1: checks the application's
 * credentials, performs the GET challenge against callback_url during create (as Oura does)
 * and refuses the create when it fails, 403 for an unknown id, 409 for a duplicate pair,
 * 422 with FastAPI-style field messages for a malformed body, renewals that add 90 days.
 */
export async function startFakeOuraSubs(options: FakeOuraSubsOptions = {}): Promise<FakeOuraSubs> {
  const clientId = options.clientId ?? FAKE_CLIENT_ID;
  const clientSecret = options.clientSecret ?? FAKE_CLIENT_SECRET;
  const subscriptions = new Map<string, FakeSubscription>();
  const challenges: ChallengeRecord[] = [];
  const tokens = new Map<string, string>();
  const requests: string[] = [];

  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) return void res.writeHead(status).end();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const expiring = (inMs: number) => new Date(Date.now() + inMs).toISOString();

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, raw: string) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}`);
    if (req.headers['x-client-id'] !== clientId || req.headers['x-client-secret'] !== clientSecret) {
      return send(res, 401, { detail: 'Invalid client credentials' });
    }
    const base = '/v2/webhook/subscription';
    const renew = new RegExp(`^${base}/renew/([^/]+)$`).exec(url.pathname);
    const one = new RegExp(`^${base}/([^/]+)$`).exec(url.pathname);

    if (url.pathname === base && req.method === 'GET') return send(res, 200, [...subscriptions.values()]);
    if (url.pathname === base && req.method === 'POST') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        return send(res, 422, { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] });
      }
      const missing = ['callback_url', 'verification_token', 'event_type', 'data_type'].filter((k) => typeof body[k] !== 'string');
      if (missing.length > 0) {
        return send(res, 422, { detail: missing.map((k) => ({ loc: ['body', k], msg: 'Field required', type: 'missing' })) });
      }
      if (!['create', 'update', 'delete'].includes(String(body.event_type))) {
        return send(res, 422, {
          detail: [{ loc: ['body', 'event_type'], msg: "Input should be 'create', 'update' or 'delete'", type: 'enum' }],
        });
      }
      const refusal = options.refuseCreate?.(body);
      if (refusal) return send(res, refusal.status, refusal.body);
      const dup = [...subscriptions.values()].find((s) => s.event_type === body.event_type && s.data_type === body.data_type);
      if (dup) return send(res, 409, { detail: 'Subscription already exists' });

      const record = await challenge(String(body.callback_url), String(body.verification_token));
      challenges.push(record);
      if (!record.passed) return send(res, 400, { detail: VERIFICATION_FAILED_DETAIL });
      const sub: FakeSubscription = {
        id: crypto.randomUUID(),
        callback_url: String(body.callback_url),
        event_type: String(body.event_type),
        data_type: String(body.data_type),
        expiration_time: expiring(90 * DAY_MS),
      };
      subscriptions.set(sub.id, sub);
      tokens.set(sub.id, String(body.verification_token));
      return send(res, 201, sub);
    }
    if (renew && req.method === 'PUT') {
      const sub = subscriptions.get(decodeURIComponent(renew[1]!));
      if (!sub) return send(res, 403, { detail: 'Webhook with specified id does not exist.' });
      if (options.renewDelayMs) await new Promise((resolve) => setTimeout(resolve, options.renewDelayMs));
      sub.expiration_time = expiring(90 * DAY_MS);
      return send(res, 200, sub);
    }
    if (one && req.method === 'DELETE') {
      const id = decodeURIComponent(one[1]!);
      if (!subscriptions.delete(id)) return send(res, 403, { detail: 'Webhook with specified id does not exist.' });
      return send(res, 204);
    }
    if (one && req.method === 'GET') {
      const sub = subscriptions.get(decodeURIComponent(one[1]!));
      return sub ? send(res, 200, sub) : send(res, 403, { detail: 'Webhook with specified id does not exist.' });
    }
    return send(res, 404, { detail: 'Not Found' });
  };

  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) => send(res, 500, { detail: String(err) }));
    });
  });

  return {
    ...server,
    subscriptions,
    challenges,
    tokens,
    requests,
    add(sub) {
      const full: FakeSubscription = {
        id: sub.id ?? crypto.randomUUID(),
        callback_url: sub.callback_url,
        event_type: sub.event_type,
        data_type: sub.data_type,
        expiration_time: expiring(sub.inMs),
      };
      subscriptions.set(full.id, full);
      return full;
    },
  };
}

/** Oura's check: GET callback?verification_token=T&challenge=C must answer 200 {"challenge": C}. */
async function challenge(callbackUrl: string, token: string): Promise<ChallengeRecord> {
  const challengeValue = crypto.randomBytes(12).toString('hex');
  const target = new URL(callbackUrl);
  target.searchParams.set('verification_token', token);
  target.searchParams.set('challenge', challengeValue);
  const record = { callbackUrl, token, challenge: challengeValue };
  try {
    const res = await request(target, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await res.body.text();
    let echoed: unknown;
    try {
      echoed = (JSON.parse(text) as { challenge?: unknown }).challenge;
    } catch {
      echoed = undefined;
    }
    return { ...record, status: res.statusCode, passed: res.statusCode === 200 && echoed === challengeValue };
  } catch (err) {
    return { ...record, status: (err as { code?: string }).code ?? String(err), passed: false };
  }
}
