import { afterEach, describe, expect, it } from 'vitest';
import { getDocument } from '../src/store/documents.js';
import { send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

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
    expect(getDocument(t.db, 'vital', 'sleep', 'vs-4')).toBeDefined();
    expect(started).toBe(4);
  });
});
