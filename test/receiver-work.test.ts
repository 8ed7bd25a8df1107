import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { getDocumentOp } from '../src/store/documents.js';
import { getDeliveryOp, insertDeliveryOp } from '../src/store/deliveries.js';
import type { FetchOuraDocument } from '../src/receiver/work-queue.js';
import { execute } from './helpers/engine.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { send, startTestReceiver, waitUntil as waitFor, type TestReceiver } from './helpers/receiver.js';
import { corsanoHeaders, ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/** The work after the acknowledgement, on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES). */

let t: TestReceiver | undefined;
let servers: TestServer[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

const delivery = (id: number, on = t!) => on.run(getDeliveryOp, id);
const statusOf = async (id: number, on = t!) => (await delivery(id, on))?.status;
const documentOf = (provider: string, type: string, id: string, on = t!) => on.run(getDocumentOp, provider, type, id);

function notification(fields: Partial<Record<string, string>> = {}): string {
  return JSON.stringify({
    event_type: 'create',
    data_type: 'sleep',
    object_id: 'sleep-doc-1',
    event_time: '2026-03-02T07:01:00+00:00',
    user_id: 'oura-user-1',
    ...fields,
  });
}

async function postOura(body: string) {
  const answer = await send(`${t!.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, body), body });
  expect(answer.status).toBe(200);
  return answer.json().id as number;
}

const SLEEP_DOC = { id: 'sleep-doc-1', day: '2026-03-02', bedtime_start: '2026-03-01T23:10:00+01:00', type: 'long_sleep', total_sleep_duration: 26000 };

/** An Oura-like document server: GET /v2/usercollection/{type}/{id} with a bearer token; 404 until `ready`. */
async function ouraDocumentServer(docs: Record<string, unknown>, state = { ready: true, requests: 0 }) {
  const server = await startServer((req, res) => {
    state.requests++;
    const m = /^\/v2\/usercollection\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
    if (req.headers.authorization !== 'Bearer token-of-oura-user-1') return void res.writeHead(401).end();
    const doc = m ? docs[`${m[1]}/${m[2]}`] : undefined;
    if (!state.ready || !doc) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not found"}');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  servers.push(server);
  const fetchDoc: FetchOuraDocument = async (userId, dataType, objectId) => {
    const res = await request(`${server.url}/v2/usercollection/${dataType}/${objectId}`, { headers: { authorization: `Bearer token-of-${userId}` } });
    const text = await res.body.text();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw new Error(`Oura answered ${res.statusCode}`);
    return JSON.parse(text) as unknown;
  };
  return { server, state, fetchDoc };
}

describe('Oura notifications: fetch after the acknowledgement', () => {
  it('fetches the notified document with the user token and stores it as an Oura document', async () => {
    const oura = await ouraDocumentServer({ 'sleep/sleep-doc-1': SLEEP_DOC });
    t = await startTestReceiver({ fetchOuraDocument: oura.fetchDoc });
    const id = await postOura(notification());
    await waitFor(async () => (await statusOf(id)) === 'processed', 'the fetch');
    const doc = (await documentOf('oura', 'sleep', 'sleep-doc-1'))!;
    expect(doc).toMatchObject({ user_id: 'oura-user-1', day: '2026-03-02', start_time: '2026-03-01T23:10:00+01:00', source: 'webhook', deleted: 0 });
    expect(JSON.parse(doc.data)).toEqual(SLEEP_DOC);
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'work', id, status: 'processed', documents: 1 }));
  });

  it('retries a 404 later and stores the document once Oura has it', async () => {
    const oura = await ouraDocumentServer({ 'sleep/sleep-doc-1': SLEEP_DOC }, { ready: false, requests: 0 });
    t = await startTestReceiver({ fetchOuraDocument: oura.fetchDoc, work: { retryDelayMs: () => 30 } });
    const id = await postOura(notification());
    const pending = await waitFor(async () => {
      const row = await delivery(id);
      return row?.status === 'pending' && row;
    }, 'the first 404');
    expect(pending.error).toMatch(/404/);
    expect(pending.next_attempt_at).not.toBeNull();
    oura.state.ready = true;
    const done = await waitFor(async () => {
      const row = await delivery(id);
      return row?.status === 'processed' && row;
    }, 'the retry');
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    expect(await documentOf('oura', 'sleep', 'sleep-doc-1')).toBeDefined();
  });

  it('gives up after the last attempt and says why', async () => {
    t = await startTestReceiver({
      fetchOuraDocument: async () => {
        throw new Error('Oura answered 503');
      },
      work: { retryDelayMs: () => 5, maxAttempts: 3 },
    });
    const id = await postOura(notification());
    const failed = await waitFor(async () => {
      const row = await delivery(id);
      return row?.status === 'failed' && row;
    }, 'giving up');
    expect(failed.attempts).toBe(3);
    expect(failed.error).toBe('gave up after 3 attempts: Oura answered 503');
  });

  it('marks the document deleted on a delete event, without fetching', async () => {
    let fetched = 0;
    const oura = await ouraDocumentServer({ 'sleep/sleep-doc-1': SLEEP_DOC });
    t = await startTestReceiver({
      fetchOuraDocument: async (...args) => {
        fetched++;
        return oura.fetchDoc(...args);
      },
    });
    const created = await postOura(notification());
    await waitFor(async () => (await statusOf(created)) === 'processed', 'the create');
    const deleted = await postOura(notification({ event_type: 'delete', event_time: '2026-03-02T09:00:00+00:00' }));
    await waitFor(async () => (await statusOf(deleted)) === 'processed', 'the delete');
    expect(fetched).toBe(1);
    expect((await documentOf('oura', 'sleep', 'sleep-doc-1'))!.deleted).toBe(1);
  });

  it('runs at most `concurrency` fetches at once', async () => {
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    t = await startTestReceiver({
      work: { concurrency: 2 },
      fetchOuraDocument: async (_user, _type, objectId) => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { ...SLEEP_DOC, id: objectId };
      },
    });
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) ids.push(await postOura(notification({ object_id: `doc-${i}` })));
    for (let released = 0; released < 6; released++) {
      await waitFor(() => releases.length > 0, 'a fetch to start');
      releases.shift()!();
    }
    await waitFor(async () => (await Promise.all(ids.map((id) => statusOf(id)))).every((s) => s === 'processed'), 'all fetches');
    expect(most).toBe(2);
  });

  it('resumes work left by a previous run: received rows are normalised, pending fetches completed', async () => {
    t = await startTestReceiver({
      fetchOuraDocument: async () => {
        throw new Error('network down');
      },
    });
    const pendingId = await postOura(notification());
    await waitFor(async () => (await statusOf(pendingId)) === 'pending', 'the failed fetch');
    // Make it due now, as if its retry time passed while wearhook was not running.
    await execute(t.location, 'UPDATE deliveries SET next_attempt_at = ? WHERE id = ?', [new Date(0).toISOString(), pendingId]);
    // A delivery committed just before a crash, never normalised.
    const vital = JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vu-1', data: { id: 'vs-1', user_id: 'vu-1', calendar_date: '2026-03-02' } });
    const { id: receivedId } = await t.run(insertDeliveryOp, {
      provider: 'vital',
      receivedAt: new Date(0),
      method: 'POST',
      path: '/vital',
      headers: [],
      body: Buffer.from(vital),
      dedupeKey: 'vital:msg_crash',
      eventType: 'daily.data.sleep.created',
      userId: 'vu-1',
    });
    await t.receiver.close();

    const oura = await ouraDocumentServer({ 'sleep/sleep-doc-1': SLEEP_DOC });
    const second = await startTestReceiver({ location: t.location, fetchOuraDocument: oura.fetchDoc });
    try {
      await waitFor(async () => (await statusOf(pendingId, second)) === 'processed' && (await statusOf(receivedId, second)) === 'processed', 'resumed work');
      expect(await documentOf('oura', 'sleep', 'sleep-doc-1', second)).toBeDefined();
      expect(await documentOf('vital', 'sleep', 'vs-1', second)).toBeDefined();
    } finally {
      await second.close();
    }
  });
});

describe('payloads that carry their data are normalised at once', () => {
  async function postStandard(path: '/vital' | '/open-wearables', id: string, payload: unknown) {
    const body = JSON.stringify(payload);
    const secret = path === '/vital' ? TEST_SECRETS.vital : TEST_SECRETS['open-wearables'];
    const answer = await send(`${t!.receiver.url}${path}`, { headers: standardHeaders(secret, id, body, { brand: 'svix' }), body });
    expect(answer.status).toBe(200);
    const deliveryId = answer.json().id as number;
    await waitFor(async () => (await statusOf(deliveryId)) === 'processed', `${id} processed`);
  }

  it('Vital sleep and activity become documents keyed by data.id, a later version replacing the earlier', async () => {
    t = await startTestReceiver();
    const sleep = { id: 'vs-1', user_id: 'vu-1', calendar_date: '2026-03-02', bedtime_start: '2026-03-01T23:14:00+01:00', total: 25560 };
    await postStandard('/vital', 'msg_1', { event_type: 'daily.data.sleep.created', user_id: 'vu-1', data: sleep });
    await postStandard('/vital', 'msg_2', { event_type: 'daily.data.sleep.updated', user_id: 'vu-1', data: { ...sleep, total: 25000 } });
    await postStandard('/vital', 'msg_3', {
      event_type: 'daily.data.activity.created',
      user_id: 'vu-1',
      data: { id: 'va-1', user_id: 'vu-1', calendar_date: '2026-03-01', steps: 9412 },
    });
    const doc = (await documentOf('vital', 'sleep', 'vs-1'))!;
    expect(doc).toMatchObject({ user_id: 'vu-1', day: '2026-03-02', start_time: '2026-03-01T23:14:00+01:00' });
    expect(JSON.parse(doc.data)).toEqual({ ...sleep, total: 25000 });
    expect(await documentOf('vital', 'activity', 'va-1')).toMatchObject({ day: '2026-03-01' });
    expect(await t.rows("SELECT COUNT(*) AS n FROM documents WHERE provider = 'vital'")).toEqual([{ n: 2 }]);
  });

  it('Open Wearables sleep is a document on the local day it ends; HRV chunks become samples', async () => {
    t = await startTestReceiver();
    const sleep = { id: 'ows-1', user_id: 'ou-9', start_time: '2026-03-01T23:05:00-05:00', end_time: '2026-03-02T06:47:00-05:00', stages: { deep_minutes: 90 } };
    await postStandard('/open-wearables', 'msg_s', { type: 'sleep.created', data: sleep });
    expect(await documentOf('open-wearables', 'sleep', 'ows-1')).toMatchObject({ user_id: 'ou-9', day: '2026-03-02', start_time: sleep.start_time });

    const chunk = (index: number, samples: { timestamp: string; value: number }[]) => ({
      type: 'series.heart_rate_variability_rmssd.created',
      data: { user_id: 'ou-9', provider: 'garmin', series_type: 'heart_rate_variability_rmssd', samples: samples.map((s) => ({ ...s, unit: 'ms' })), chunk_index: index, total_chunks: 2 },
    });
    await postStandard('/open-wearables', 'msg_c0', chunk(0, [{ timestamp: '2026-03-01T23:30:00-05:00', value: 41.5 }]));
    await postStandard('/open-wearables', 'msg_c1', chunk(1, [{ timestamp: '2026-03-02T00:05:00-05:00', value: 44.2 }]));
    const rows = await t.rows("SELECT series_type, timestamp, day, value, unit FROM samples WHERE provider = 'open-wearables' ORDER BY epoch_ms");
    expect(rows).toEqual([
      // 23:30 is still March 1st locally, but it is part of the sleep that ends on March 2nd.
      { series_type: 'heart_rate_variability_rmssd', timestamp: '2026-03-01T23:30:00-05:00', day: '2026-03-02', value: 41.5, unit: 'ms' },
      { series_type: 'heart_rate_variability_rmssd', timestamp: '2026-03-02T00:05:00-05:00', day: '2026-03-02', value: 44.2, unit: 'ms' },
    ]);
  });

  it('HRV samples that arrive before their sleep take its day once it comes; samples outside any sleep keep their own date', async () => {
    t = await startTestReceiver();
    await postStandard('/open-wearables', 'msg_h', {
      type: 'series.heart_rate_variability_rmssd.created',
      data: {
        user_id: 'ou-9',
        series_type: 'heart_rate_variability_rmssd',
        samples: [
          { timestamp: '2026-03-01T14:00:00-05:00', value: 30, unit: 'ms' },
          { timestamp: '2026-03-01T23:45:00-05:00', value: 52, unit: 'ms' },
        ],
      },
    });
    const days = () => t!.rows('SELECT timestamp, day FROM samples ORDER BY epoch_ms');
    await waitFor(async () => (await days()).length === 2, 'samples stored');
    expect(await days()).toEqual([
      { timestamp: '2026-03-01T14:00:00-05:00', day: '2026-03-01' },
      { timestamp: '2026-03-01T23:45:00-05:00', day: '2026-03-01' },
    ]);
    const sleep = { id: 'ows-2', user_id: 'ou-9', start_time: '2026-03-01T23:05:00-05:00', end_time: '2026-03-02T06:47:00-05:00' };
    await postStandard('/open-wearables', 'msg_s2', { type: 'sleep.created', data: sleep });
    expect(await days()).toEqual([
      { timestamp: '2026-03-01T14:00:00-05:00', day: '2026-03-01' },
      { timestamp: '2026-03-01T23:45:00-05:00', day: '2026-03-02' },
    ]);
  });

  it('Corsano activity samples become numeric series in the sample offset', async () => {
    t = await startTestReceiver();
    const body = JSON.stringify({
      study: 'S1',
      type: 'activity',
      data: { user_uuid: 'cu-1', data: [[{ timestamp: '1763562121000', bpm: '79', spo2: '0', last_steps: '12', timezone: '+01:00' }]] },
    });
    const answer = await send(`${t.receiver.url}/corsano`, { headers: corsanoHeaders(TEST_SECRETS.corsano, body), body });
    await waitFor(async () => (await statusOf(answer.json().id as number)) === 'processed', 'corsano processed');
    const rows = await t.rows("SELECT series_type, timestamp, day, value FROM samples WHERE provider = 'corsano' ORDER BY series_type");
    // spo2 0 means "no reading" and is left out.
    expect(rows).toEqual([
      { series_type: 'bpm', timestamp: '2025-11-19T15:22:01.000+01:00', day: '2025-11-19', value: 79 },
      { series_type: 'last_steps', timestamp: '2025-11-19T15:22:01.000+01:00', day: '2025-11-19', value: 12 },
    ]);
  });
});

