import http from 'node:http';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getDeliveryOp, headerPairs } from '../src/store/deliveries.js';
import { buildProviders } from '../src/providers/registry.js';
import { execute, onPostgres } from './helpers/engine.js';
import { send, startTestReceiver, storedCount, type Answer, type TestReceiver } from './helpers/receiver.js';
import { corsanoHeaders, nowSeconds, ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * The receiver's HTTP side. On SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES): what is
 * stored (bytes, headers, dedupe keys, a failed commit) is checked on both; refusals that come
 * before the store (signatures, routes, sizes) once, on SQLite.
 */
let t: TestReceiver;
const statuses: number[] = [];
/** Refused before the store is reached: checked once, on SQLite. */
const beforeTheStore = it.skipIf(onPostgres);

async function post(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const answer = await send(`${t.receiver.url}${path}`, { headers, body });
  statuses.push(answer.status);
  return answer;
}

beforeEach(async () => {
  t = await startTestReceiver();
});
afterEach(async () => {
  await t.close();
});
afterAll(() => {
  // Oura cancels a subscription on 410: nothing this file sent may have been answered so.
  expect(statuses.length).toBeGreaterThan(onPostgres ? 10 : 30);
  expect(statuses).not.toContain(410);
});

// Odd spacing, key order and a non-ASCII character: a verifier that re-serialised the JSON would fail.
const VITAL_BODY = '{"event_type" : "daily.data.sleep.created",  "data": {"id":"sl-1","user_id":"vu-1","calendar_date":"2026-03-02","note":"Schläfchen"} ,"user_id":"vu-1"}';
const OURA_BODY = '{ "event_type":"create", "data_type":"sleep",\n "object_id":"doc-1","event_time":"2026-03-02T07:01:00+00:00","user_id":"ou-1" }';

describe('Standard Webhooks deliveries (Vital, Open Wearables, standard)', () => {
  it('accepts a Svix-signed Vital delivery and stores the exact bytes and headers before answering 2xx', async () => {
    const headers = standardHeaders(TEST_SECRETS.vital, 'msg_vital_1', VITAL_BODY, { brand: 'svix' });
    const answer = await post('/vital', VITAL_BODY, headers);
    expect(answer.status).toBe(200);
    const id = answer.json().id as number;
    const row = (await t.run(getDeliveryOp, id))!;
    expect(Buffer.compare(row.body, Buffer.from(VITAL_BODY, 'utf8'))).toBe(0);
    expect(row).toMatchObject({ provider: 'vital', dedupe_key: 'vital:msg_vital_1', event_type: 'daily.data.sleep.created', user_id: 'vu-1', verified: 1 });
    expect(headerPairs(row)).toEqual(expect.arrayContaining([['svix-id', 'msg_vital_1'], ['svix-signature', headers['svix-signature']]]));
  });

  it('accepts webhook-* headers on every Standard Webhooks route', async () => {
    for (const [path, secret] of [
      ['/open-wearables', TEST_SECRETS['open-wearables']],
      ['/standard', TEST_SECRETS.standard],
    ] as const) {
      const body = '{"type":"sleep.created","data":{"id":"x","user_id":"u"}}';
      const answer = await post(path, body, standardHeaders(secret, `msg${path.replace('/', '_')}`, body));
      expect(answer.status).toBe(200);
    }
    expect(await storedCount(t)).toBe(2);
  });

  it('acknowledges a repeated message id again but stores it once', async () => {
    const first = await post('/vital', VITAL_BODY, standardHeaders(TEST_SECRETS.vital, 'msg_dup', VITAL_BODY));
    // Svix retries with the same id and a fresh timestamp and signature.
    const again = await post('/vital', VITAL_BODY, standardHeaders(TEST_SECRETS.vital, 'msg_dup', VITAL_BODY, { seconds: nowSeconds() + 2 }));
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json()).toMatchObject({ id: first.json().id, duplicate: true });
    expect(await storedCount(t)).toBe(1);
    expect(t.receiver.stats).toMatchObject({ accepted: 1, duplicates: 1 });
  });

  const good = () => standardHeaders(TEST_SECRETS.vital, 'msg_bad', VITAL_BODY);
  const rejections: [string, () => [string | Buffer, Record<string, string>]][] = [
    ['a wrong secret', () => [VITAL_BODY, standardHeaders(TEST_SECRETS.standard, 'msg_bad', VITAL_BODY)]],
    ['a tampered body', () => [VITAL_BODY.replace('2026-03-02', '2026-03-03'), good()]],
    ['a body re-serialised by a proxy', () => [JSON.stringify(JSON.parse(VITAL_BODY)), good()]],
    ['no webhook-id', () => [VITAL_BODY, { ...good(), 'webhook-id': '' }]],
    ['no webhook-timestamp', () => [VITAL_BODY, { ...good(), 'webhook-timestamp': '' }]],
    ['no webhook-signature', () => [VITAL_BODY, { ...good(), 'webhook-signature': '' }]],
    ['a timestamp 305 s old', () => [VITAL_BODY, standardHeaders(TEST_SECRETS.vital, 'msg_bad', VITAL_BODY, { seconds: nowSeconds() - 305 })]],
    ['a timestamp 305 s ahead', () => [VITAL_BODY, standardHeaders(TEST_SECRETS.vital, 'msg_bad', VITAL_BODY, { seconds: nowSeconds() + 305 })]],
  ];
  for (const [what, make] of rejections) {
    beforeTheStore(`refuses ${what} with 401 and stores nothing`, async () => {
      const [body, headers] = make();
      const answer = await post('/vital', body, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== '')));
      expect(answer.status).toBe(401);
      expect(await storedCount(t)).toBe(0);
      expect(t.receiver.stats.rejected).toBe(1);
      expect(t.events).toContainEqual(expect.objectContaining({ type: 'rejected', provider: 'vital', http_status: 401 }));
    });
  }

  beforeTheStore('accepts the official Standard Webhooks test vector on POST /standard with the clock at its timestamp', async () => {
    await t.close();
    t = await startTestReceiver({
      clock: () => 1614265330 * 1000,
      providers: buildProviders({ secrets: { standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } }),
    });
    const body = '{"test": 2432232314}';
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const answer = await post('/standard', body, headers);
    expect(answer.status).toBe(200);
    expect((await t.run(getDeliveryOp, answer.json().id as number))!.body.toString('utf8')).toBe(body);
    // The same delivery with today's clock is a replay from 2021.
    await t.close();
    t = await startTestReceiver({ providers: buildProviders({ secrets: { standard: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } }) });
    expect((await post('/standard', body, headers)).status).toBe(401);
  });

  beforeTheStore('refuses a correctly signed body that is not JSON with 400 and stores nothing', async () => {
    const body = '{"event_type": "daily.data.sleep.created", ';
    const answer = await post('/vital', body, standardHeaders(TEST_SECRETS.vital, 'msg_truncated', body));
    expect(answer.status).toBe(400);
    expect(await storedCount(t)).toBe(0);
  });
});

describe('Oura deliveries', () => {
  it('accepts an upper-case hex signature and stores the exact bytes', async () => {
    const answer = await post('/oura', OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY));
    expect(answer.status).toBe(200);
    const row = (await t.run(getDeliveryOp, answer.json().id as number))!;
    expect(row.body.toString('utf8')).toBe(OURA_BODY);
    expect(row).toMatchObject({
      provider: 'oura',
      event_type: 'sleep.create',
      user_id: 'ou-1',
      // The fields as a JSON array, hashed: [user, data type, event type, object, event_time, body hash when there is no event_time].
      dedupe_key: `oura:${createHash('sha256').update(JSON.stringify(['ou-1', 'sleep', 'create', 'doc-1', '2026-03-02T07:01:00+00:00', null])).digest('hex')}`,
    });
  });

  beforeTheStore('accepts a lower-case hex signature', async () => {
    const answer = await post('/oura', OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY, { lowerCase: true }));
    expect(answer.status).toBe(200);
  });

  it('stores a retried notification once (same user, type, event, object and event_time)', async () => {
    await post('/oura', OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY));
    const retry = await post('/oura', OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY, { seconds: nowSeconds() + 1 }));
    expect(retry.status).toBe(200);
    expect(retry.json().duplicate).toBe(true);
    const update = OURA_BODY.replace('"create"', '"update"');
    expect((await post('/oura', update, ouraHeaders(TEST_SECRETS.oura, update))).json().duplicate).toBe(false);
    expect(await storedCount(t)).toBe(2);
  });

  it('stores two different notifications whose fields would join into the same text', async () => {
    const first = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: 'x', event_time: 't:1', user_id: 'ou-1' });
    const second = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: 'x:t', event_time: '1', user_id: 'ou-1' });
    const answers = [await post('/oura', first, ouraHeaders(TEST_SECRETS.oura, first)), await post('/oura', second, ouraHeaders(TEST_SECRETS.oura, second))];
    expect(answers.map((a) => [a.status, a.json().duplicate])).toEqual([
      [200, false],
      [200, false],
    ]);
    expect(await storedCount(t)).toBe(2);
  });

  const good = () => ouraHeaders(TEST_SECRETS.oura, OURA_BODY);
  const rejections: [string, () => [string, Record<string, string>]][] = [
    ['a wrong client secret', () => [OURA_BODY, ouraHeaders('another-secret', OURA_BODY)]],
    ['a tampered body', () => [OURA_BODY.replace('doc-1', 'doc-2'), good()]],
    ['a body re-serialised by a proxy', () => [JSON.stringify(JSON.parse(OURA_BODY)), good()]],
    ['no x-oura-signature', () => [OURA_BODY, { ...good(), 'x-oura-signature': '' }]],
    ['no x-oura-timestamp', () => [OURA_BODY, { ...good(), 'x-oura-timestamp': '' }]],
    ['a signature made for another timestamp', () => [OURA_BODY, { ...good(), 'x-oura-timestamp': String(nowSeconds() - 1) }]],
    ['a timestamp 305 s old', () => [OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY, { seconds: nowSeconds() - 305 })]],
    ['a timestamp 305 s ahead', () => [OURA_BODY, ouraHeaders(TEST_SECRETS.oura, OURA_BODY, { seconds: nowSeconds() + 305 })]],
  ];
  for (const [what, make] of rejections) {
    beforeTheStore(`refuses ${what} with 401 and stores nothing`, async () => {
      const [body, headers] = make();
      const answer = await post('/oura', body, Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== '')));
      expect(answer.status).toBe(401);
      expect(await storedCount(t)).toBe(0);
    });
  }

  beforeTheStore('refuses signed JSON that is not an Oura notification with 400', async () => {
    const body = '{"hello":"world"}';
    expect((await post('/oura', body, ouraHeaders(TEST_SECRETS.oura, body))).status).toBe(400);
    expect(await storedCount(t)).toBe(0);
  });
});

describe("Oura's verification challenge", () => {
  beforeTheStore('echoes the challenge for the --verification-token and refuses any other token', async () => {
    await t.close();
    t = await startTestReceiver({ verificationToken: 'my-token' });
    const ok = await send(`${t.receiver.url}/oura?verification_token=my-token&challenge=abc%2B123`, { method: 'GET' });
    statuses.push(ok.status);
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ challenge: 'abc+123' });
    const wrong = await send(`${t.receiver.url}/oura?verification_token=my-tokem&challenge=abc`, { method: 'GET' });
    statuses.push(wrong.status);
    expect(wrong.status).toBe(401);
    const missing = await send(`${t.receiver.url}/oura?verification_token=my-token`, { method: 'GET' });
    expect(missing.status).toBe(401);
    const bare = await send(`${t.receiver.url}/oura`, { method: 'GET' });
    expect(bare.status).toBe(401);
  });

  it('accepts the token of a subscription wearhook created (known only by its SHA-256)', async () => {
    const hash = createHash('sha256').update('sub-token-1').digest('hex');
    await execute(
      t.location,
      `INSERT INTO subscriptions (id, provider, callback_url, event_type, data_type, verification_token_sha256, created_by_wearhook, created_at, updated_at)
       VALUES ('s1', 'oura', 'https://example.test/oura', 'create', 'sleep', ?, 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')`,
      [hash],
    );
    const ok = await send(`${t.receiver.url}/oura?verification_token=sub-token-1&challenge=c-1`, { method: 'GET' });
    expect(ok.status).toBe(200);
    expect(ok.json()).toEqual({ challenge: 'c-1' });
    const wrong = await send(`${t.receiver.url}/oura?verification_token=sub-token-2&challenge=c-1`, { method: 'GET' });
    expect(wrong.status).toBe(401);
  });
});

describe('Corsano deliveries (experimental)', () => {
  const body = '{"study":"S1","type":"activity","data":{"user_uuid":"cu-1","data":[[{"timestamp":"1763562121000","bpm":"79","timezone":"+01:00"}]]}}';

  it('accepts hex or base64 HMAC-SHA256 over the raw body, stores a body once', async () => {
    expect((await post('/corsano', body, corsanoHeaders(TEST_SECRETS.corsano, body))).status).toBe(200);
    const again = await post('/corsano', body, corsanoHeaders(TEST_SECRETS.corsano, body, { encoding: 'base64' }));
    expect(again.status).toBe(200);
    expect(again.json().duplicate).toBe(true);
    expect(await storedCount(t)).toBe(1);
  });

  beforeTheStore('refuses a wrong secret or a missing signature', async () => {
    expect((await post('/corsano', body, corsanoHeaders('wrong', body))).status).toBe(401);
    expect((await post('/corsano', body, { 'content-type': 'application/json' })).status).toBe(401);
    expect(await storedCount(t)).toBe(0);
  });

  beforeTheStore('reads the signature from the configured header', async () => {
    await t.close();
    t = await startTestReceiver({ corsanoSignatureHeader: 'X-Corsano-Signature' });
    expect((await post('/corsano', body, corsanoHeaders(TEST_SECRETS.corsano, body))).status).toBe(401);
    expect((await post('/corsano', body, corsanoHeaders(TEST_SECRETS.corsano, body, { header: 'x-corsano-signature' }))).status).toBe(200);
  });
});

/** A raw request, to control Content-Length and chunking exactly. */
function rawPost(url: string, path: string, chunks: Buffer[], headers: Record<string, string | number>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('routes, methods and sizes', () => {
  beforeTheStore('answers 404 for an unknown route and 405 for a wrong method, with Allow', async () => {
    const unknown = await post('/fitbit', '{}', {});
    expect(unknown.status).toBe(404);
    const get = await send(`${t.receiver.url}/vital`, { method: 'GET' });
    statuses.push(get.status);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const put = await send(`${t.receiver.url}/oura`, { method: 'PUT', body: '{}' });
    statuses.push(put.status);
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
    const del = await send(`${t.receiver.url}/healthz`, { method: 'DELETE' });
    expect(del.status).toBe(405);
  });

  beforeTheStore('answers GET /healthz with 200 while up', async () => {
    const health = await send(`${t.receiver.url}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
    expect(health.json()).toMatchObject({ ok: true });
  });

  beforeTheStore('refuses a declared body over 1 MiB with 413 without storing it, even when correctly signed', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    big.write('{"type":"x"}');
    const headers = { ...standardHeaders(TEST_SECRETS.vital, 'msg_big', big), 'content-length': big.length };
    const status = await rawPost(t.receiver.url, '/vital', [big], headers);
    statuses.push(status);
    expect(status).toBe(413);
    expect(await storedCount(t)).toBe(0);
  });

  it('refuses a chunked body that grows past 1 MiB with 413, and still accepts exactly 1 MiB', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    // Signature headers that pass the check made before the body is read (the body is refused before its signature is).
    const signed = standardHeaders(TEST_SECRETS.vital, 'msg_chunked', 'x');
    const status = await rawPost(t.receiver.url, '/vital', Array.from({ length: 17 }, () => chunk), { ...signed, 'transfer-encoding': 'chunked' });
    statuses.push(status);
    expect(status).toBe(413);

    const exact = Buffer.alloc(1024 * 1024, 0x20);
    exact.write('{"event_type":"daily.data.x.created","data":{}}');
    const ok = await post('/vital', exact, standardHeaders(TEST_SECRETS.vital, 'msg_exact', exact));
    expect(ok.status).toBe(200);
    expect(await storedCount(t)).toBe(1);
  });

  beforeTheStore('stores nothing when the sender hangs up in the middle of the body', async () => {
    const body = Buffer.from(VITAL_BODY);
    await new Promise<void>((resolve) => {
      const req = http.request(`${t.receiver.url}/vital`, {
        method: 'POST',
        headers: { ...standardHeaders(TEST_SECRETS.vital, 'msg_cut', body), 'content-length': body.length, expect: '100-continue' },
      });
      req.on('continue', () => {
        req.write(body.subarray(0, 20));
        setImmediate(() => req.destroy());
      });
      req.on('error', () => {});
      req.on('close', () => resolve());
    });
    for (let i = 0; i < 500 && t.receiver.stats.rejected === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.receiver.stats.rejected).toBe(1);
    expect(t.events.filter((e) => e.type === 'error')).toEqual([]);
    expect(await storedCount(t)).toBe(0);
  });

  it('answers 503, never 2xx, when the delivery cannot be committed', async () => {
    if (onPostgres) await t.store.close();
    else t.db.close();
    const answer = await post('/vital', VITAL_BODY, standardHeaders(TEST_SECRETS.vital, 'msg_nodb', VITAL_BODY));
    expect(answer.status).toBe(503);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'error' }));
  });
});
