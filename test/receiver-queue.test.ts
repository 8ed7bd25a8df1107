import { afterEach, describe, expect, it } from 'vitest';
import { getDocumentOp } from '../src/store/documents.js';
import { onPostgres } from './helpers/engine.js';
import { send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/** The work queue, on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES). */

let t: TestReceiver | undefined;
let release = () => {};
afterEach(async () => {
  release();
  await t?.close();
  t = undefined;
});

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('the work after the acknowledgement', () => {
  it('normalises deliveries that carry their data while earlier Oura fetches are still waiting on Oura', async () => {
    let started = 0;
    const waiting = new Promise<null>((resolve) => (release = () => resolve(null)));
    t = await startTestReceiver({
      fetchOuraDocument: async () => {
        started++;
        return waiting;
      },
    });
    for (let i = 0; i < 10; i++) {
      const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: `o-${i}`, event_time: '2026-03-02T07:00:00+00:00', user_id: 'ou-1' });
      expect((await send(`${t.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, body), body })).status).toBe(200);
    }
    // Oura is slow: its fetches hold every fetch slot, and six more wait behind them.
    await waitFor(() => started === 4, 'four fetches in flight');
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vu-1', data: { id: `vs-${i}`, user_id: 'vu-1', calendar_date: `2026-03-0${i + 1}`, total: 25_000 } });
      expect((await send(`${t.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, `msg_${i}`, body), body })).status).toBe(200);
    }
    await waitFor(() => t!.events.filter((e) => e.type === 'work' && e.provider === 'vital' && e.status === 'processed').length === 5, 'the Vital deliveries normalised');
    expect(await t.run(getDocumentOp, 'vital', 'sleep', 'vs-4')).toBeDefined();
    expect(started).toBe(4);
  });
});

describe('several receivers on one database', () => {
  // Fewer on PostgreSQL, where each is a round trip of its own: test/reliability/ sends thousands.
  const DELIVERIES = onPostgres ? 120 : 400;
  it('does the work of each delivery in exactly one of them', async () => {
    t = await startTestReceiver();
    const fetched = new Map<string, number>();
    const fetchOuraDocument = async (_user: string, type: string, id: string) => {
      fetched.set(id, (fetched.get(id) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      return { id, day: '2026-03-02', type: 'long_sleep', bedtime_start: '2026-03-01T23:00:00+01:00' };
    };
    const receivers: TestReceiver[] = [];
    for (let i = 0; i < 2; i++) receivers.push(await startTestReceiver({ location: t.location, fetchOuraDocument }));
    const events = receivers.map((r) => r.events);
    try {
      const ids = await Promise.all(
        Array.from({ length: DELIVERIES }, async (_, i) => {
          const { url } = receivers[i % 2]!.receiver;
          const body =
            i % 2 === 0
              ? JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: `o-${i}`, event_time: '2026-03-02T07:00:00+00:00', user_id: 'ou-1' })
              : JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: `vu-${i}`, data: { id: `vs-${i}`, user_id: `vu-${i}`, calendar_date: '2026-03-02', total: 25_000 } });
          const headers = i % 2 === 0 ? ouraHeaders(TEST_SECRETS.oura, body) : standardHeaders(TEST_SECRETS.vital, `msg_${i}`, body);
          const answer = await send(`${url}${i % 2 === 0 ? '/oura' : '/vital'}`, { headers, body });
          expect(answer.status).toBe(200);
          return answer.json().id as number;
        }),
      );
      await Promise.all(receivers.map((r) => r.receiver.idle()));
      const processed = new Map<number, number>();
      for (const e of events.flat()) if (e.type === 'work' && e.status === 'processed') processed.set(e.id, (processed.get(e.id) ?? 0) + 1);
      expect(ids.filter((id) => processed.get(id) !== 1)).toEqual([]);
      expect([...fetched.values()].filter((n) => n !== 1)).toEqual([]);
      expect(fetched.size).toBe(DELIVERIES / 2);
      const statuses = await t.rows('SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status');
      expect(statuses).toEqual([{ status: 'processed', n: DELIVERIES }]);
    } finally {
      for (const r of receivers) await r.close();
    }
  });
});
