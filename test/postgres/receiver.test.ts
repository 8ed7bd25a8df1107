import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProviders } from '../../src/providers/registry.js';
import { startReceiver, type Receiver, type ReceiverEvent } from '../../src/receiver/server.js';
import { openStore } from '../../src/store/open.js';
import { storeLocation } from '../../src/store/location.js';
import type { Store } from '../../src/store/store.js';
import { insertDeliveryOp, markProcessedOp, DELIVERY_WORK } from '../../src/store/deliveries.js';
import { ClaimLostError, finishClaimOp } from '../../src/store/claims.js';
import { AwaitingAuthorization, type FetchOuraDocument } from '../../src/receiver/work-queue.js';
import { send } from '../helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from '../helpers/signing.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, newPostgresDatabase, postgresServer } from '../helpers/postgres.js';

const cleanups: (() => Promise<unknown>)[] = [];
// Oura fetches on PostgreSQL are test/postgres/oura.test.ts's; here an Oura delivery only waits.
const OURA_WAITS = 'waiting in this test';
const parkOura: FetchOuraDocument = () => Promise.reject(new AwaitingAuthorization(OURA_WAITS));
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiverOn(url: string, events: ReceiverEvent[] = [], work: { leaseMs?: number } = {}): Promise<{ receiver: Receiver; store: Store }> {
  const store = await openStore(storeLocation(url));
  const receiver = await startReceiver({
    store,
    port: 0,
    providers: buildProviders({ secrets: TEST_SECRETS }),
    fetchOuraDocument: parkOura,
    onEvent: (event) => events.push(event),
    work,
  });
  cleanups.push(async () => {
    await receiver.close();
    await store.close();
  });
  return { receiver, store };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const count = async (url: string, sql: string): Promise<number> => Number((await adminQuery<{ n: string }>(sql, [], url))[0]!.n);

describe('the receiver on PostgreSQL', () => {
  it('two receivers on one database: each delivery stored once, acknowledged after its commit, its work done once', async () => {
    const url = await newPostgresDatabase();
    const a = await receiverOn(url);
    const b = await receiverOn(url);
    const sleepBody = (i: number) =>
      JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: `vu-${i % 3}`, data: { id: `vs-${i}`, user_id: `vu-${i % 3}`, calendar_date: '2026-03-02', total: 20_000 + i } });
    // Every delivery goes to both receivers at once (a sender's retry through the other one): 40 deliveries, 80 requests.
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const body = sleepBody(i);
        const headers = standardHeaders(TEST_SECRETS.vital, `msg_${i}`, body, { brand: 'svix' });
        const [first, second] = await Promise.all([a, b].map((r) => send(`${r.receiver.url}/vital`, { headers, body })));
        // The acknowledgement follows the commit: the row is there for anyone the moment the answer is.
        const id = Number(first!.json().id);
        expect(await count(url, `SELECT count(*) AS n FROM deliveries WHERE id = ${id}`)).toBe(1);
        return [first!, second!];
      }),
    );
    for (const [first, second] of answers) {
      expect([first!.status, second!.status]).toEqual([200, 200]);
      expect(first!.json().id).toBe(second!.json().id);
      expect([first!.json().duplicate, second!.json().duplicate].filter(Boolean)).toHaveLength(1);
    }
    expect(await count(url, 'SELECT count(*) AS n FROM deliveries')).toBe(40);

    // HRV and its sleep reach different receivers at once, for several users: however their work interleaves, the
    // samples take the sleep's day (each side's attribution waits for the other's commit instead of missing it).
    const users = Array.from({ length: 8 }, (_, i) => `ou-${i}`);
    const hrv = (user: string) =>
      JSON.stringify({
        type: 'series.heart_rate_variability_rmssd.created',
        data: { user_id: user, series_type: 'heart_rate_variability_rmssd', samples: [{ timestamp: '2026-03-01T23:45:00-05:00', value: 52, unit: 'ms' }] },
      });
    const sleep = (user: string) =>
      JSON.stringify({ type: 'sleep.created', data: { id: `ows-${user}`, user_id: user, start_time: '2026-03-01T23:05:00-05:00', end_time: '2026-03-02T06:47:00-05:00' } });
    const owSend = async (r: Receiver, id: string, body: string) =>
      (await send(`${r.url}/open-wearables`, { headers: standardHeaders(TEST_SECRETS['open-wearables'], id, body), body })).status;
    const owStatuses = await Promise.all(users.flatMap((u) => [owSend(a.receiver, `msg_h_${u}`, hrv(u)), owSend(b.receiver, `msg_s_${u}`, sleep(u))]));
    expect(owStatuses.every((s) => s === 200)).toBe(true);

    // An Oura notification is stored and acknowledged, then waits (its fetch cannot succeed yet).
    const oura = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: 'os-1', user_id: 'ou-1', event_time: '2026-03-02T07:00:00+00:00' });
    expect((await send(`${a.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, oura), body: oura })).status).toBe(200);

    await until(async () => (await count(url, "SELECT count(*) AS n FROM deliveries WHERE provider <> 'oura' AND status <> 'processed'")) === 0, 'every delivery processed');
    // Processed once: one version per document, every claim dropped.
    expect(await count(url, "SELECT count(*) AS n FROM document_versions WHERE provider = 'vital'")).toBe(40);
    expect(await count(url, 'SELECT count(*) AS n FROM deliveries WHERE claim_owner IS NOT NULL AND status = \'processed\'')).toBe(0);
    expect(await count(url, "SELECT count(*) AS n FROM documents WHERE provider = 'vital' AND version = 1")).toBe(40);
    expect(await adminQuery(`SELECT user_id, day, sleep_id FROM samples ORDER BY user_id`, [], url)).toEqual(
      users.map((u) => ({ user_id: u, day: '2026-03-02', sleep_id: `ows-${u}` })),
    );
    await until(async () => (await count(url, "SELECT count(*) AS n FROM deliveries WHERE provider = 'oura' AND status = 'pending'")) === 1, 'the Oura delivery parked');
    const [parked] = await adminQuery<{ error: string; next_attempt_at: string | null }>(`SELECT error, next_attempt_at FROM deliveries WHERE provider = 'oura'`, [], url);
    expect(parked).toEqual({ error: OURA_WAITS, next_attempt_at: null });
  });

  it("acknowledges while its work is stuck: post-acknowledgement work never takes the connections an insert needs", async () => {
    const url = await newPostgresDatabase();
    const { receiver } = await receiverOn(url);
    // Another session holds the lock of the one document all these deliveries carry: their work waits on it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [`document:${JSON.stringify(['vital', 'sleep', 'vs-stuck'])}`]);
    const body = JSON.stringify({ event_type: 'daily.data.sleep.updated', user_id: 'vu-1', data: { id: 'vs-stuck', user_id: 'vu-1', calendar_date: '2026-03-02', total: 20_000 } });
    // Three times the pool's 10 connections, sent in waves (each wave's work queues up behind the lock first).
    const statuses: number[] = [];
    for (let wave = 0; wave < 3; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => send(`${receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, `msg_stuck_${wave}_${i}`, body, { brand: 'svix' }), body })),
      );
      statuses.push(...answers.map((a) => a.status));
    }
    expect(statuses).toEqual(Array(30).fill(200));
    expect(await count(url, "SELECT count(*) AS n FROM deliveries WHERE status = 'processed'")).toBe(0);
    // Once the lock is free, the work gets done: one document, 30 deliveries processed.
    await holder.query('SELECT pg_advisory_unlock_all()');
    await until(async () => (await count(url, "SELECT count(*) AS n FROM deliveries WHERE status = 'processed'")) === 30, 'the work done after the lock');
    expect(await count(url, "SELECT count(*) AS n FROM documents WHERE id = 'vs-stuck'")).toBe(1);
  });

  it("takes over a dead receiver's work once its lease lapses; the late owner's result is refused", async () => {
    const url = await newPostgresDatabase();
    const store = await openStore(storeLocation(url));
    cleanups.push(() => store.close());
    const body = JSON.stringify({ event_type: 'daily.data.activity.created', user_id: 'vu-1', data: { id: 'va-1', user_id: 'vu-1', calendar_date: '2026-03-01', steps: 1 } });
    // Stored by a receiver on another machine that died holding its claim for another 1.5 s.
    const dead = 'elsewhere/4242/abcdef';
    const { id } = await store.run(insertDeliveryOp, {
      provider: 'vital',
      receivedAt: new Date(),
      method: 'POST',
      path: '/vital',
      headers: [['svix-id', 'msg_dead']],
      body: Buffer.from(body),
      dedupeKey: 'vital:msg_dead',
      eventType: 'daily.data.activity.created',
      userId: 'vu-1',
      claim: { owner: dead, until: Date.now() + 1_500 },
    });
    const started = Date.now();
    await receiverOn(url);
    await until(async () => (await count(url, `SELECT count(*) AS n FROM deliveries WHERE id = ${id} AND status = 'processed'`)) === 1, 'the delivery taken over', 20_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(await count(url, "SELECT count(*) AS n FROM document_versions WHERE id = 'va-1'")).toBe(1);
    // The dead owner comes back with its result: the fence refuses it and nothing is written twice.
    await expect(store.run(markProcessedOp, dead, id, 1)).rejects.toBeInstanceOf(ClaimLostError);
    await expect(store.run(finishClaimOp, DELIVERY_WORK, dead, id)).rejects.toBeInstanceOf(ClaimLostError);
  });

  it('wearhook listen --db postgres:// receives as a process', async () => {
    const url = await newPostgresDatabase();
    const { password } = postgresServer();
    const listen: ListenProcess = await startListen({ WEARHOOK_DB: url, WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital });
    cleanups.push(() => listen.stop());
    expect(listen.stderr()).not.toContain(password);
    expect(JSON.stringify(listen.lines())).not.toContain(password);
    const body = JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vu-1', data: { id: 'vs-p', user_id: 'vu-1', calendar_date: '2026-03-02' } });
    const answer = await send(`${listen.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_p', body), body });
    expect(answer.status).toBe(200);
    await listen.waitForLine((l) => l.type === 'work' && l.status === 'processed', 'the work line');
    expect(await listen.stop('SIGTERM')).toBe(0);
    expect(await count(url, "SELECT count(*) AS n FROM documents WHERE id = 'vs-p'")).toBe(1);

    // events list reads the delivery log on PostgreSQL too, with its filters (event glob, body text without case).
    const listed = await runCli(['events', 'list', '--json', '--event', 'daily.data.*', '--grep', 'VS-P'], { env: { WEARHOOK_DB: url } });
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: number; status: string }[]).map((r) => [r.id, r.status])).toEqual([[answer.json().id, 'processed']]);
  });
});
