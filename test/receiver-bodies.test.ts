import { afterEach, describe, expect, it } from 'vitest';
import { getDeliveryOp, insertDeliveryOp } from '../src/store/deliveries.js';
import { getDocumentOp } from '../src/store/documents.js';
import { runCli, tempDir } from './helpers/cli.js';
import { send, startTestReceiver, storedCount, waitUntil, type TestReceiver } from './helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * One decoder for the receiver, the work and `events show`: what is acknowledged can be worked on
 * and shown. On SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

let t: TestReceiver | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});


const deep = (levels: number) => Buffer.from('['.repeat(levels) + ']'.repeat(levels));

describe('delivery bodies', () => {
  it('accepts a signed body that starts with a byte order mark and normalises it like any other', async () => {
    t = await startTestReceiver();
    const json = '{"event_type":"daily.data.sleep.created","user_id":"vu-bom","data":{"id":"vs-bom","user_id":"vu-bom","calendar_date":"2026-03-02","total":25000}}';
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);
    const answer = await send(`${t.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_bom', body), body });
    expect(answer.status).toBe(200);
    const id = answer.json().id as number;
    const worked = await waitUntil(async () => {
      const row = await t!.run(getDeliveryOp, id);
      return row?.status !== 'received' && row;
    }, 'the work');
    expect(worked).toMatchObject({ status: 'processed', error: null });
    expect(worked.body.equals(body)).toBe(true);
    expect(await t.run(getDocumentOp, 'vital', 'sleep', 'vs-bom')).toBeDefined();
  });

  it('refuses signed JSON nested deeper than the limit with 400 and stores nothing; 64 levels are fine', async () => {
    t = await startTestReceiver();
    for (const levels of [100_000, 65]) {
      const body = deep(levels);
      const answer = await send(`${t.receiver.url}/standard`, { headers: standardHeaders(TEST_SECRETS.standard, `msg_deep_${levels}`, body), body });
      expect(answer.status).toBe(400);
      expect(answer.json().error).toMatch(/nested deeper than 64/);
    }
    expect(await storedCount(t)).toBe(0);
    const fine = deep(64);
    expect((await send(`${t.receiver.url}/standard`, { headers: standardHeaders(TEST_SECRETS.standard, 'msg_64', fine), body: fine })).status).toBe(200);
  });

  it('events show prints a deeply nested body stored by an older wearhook without crashing', async () => {
    t = await startTestReceiver();
    const { id } = await t.run(insertDeliveryOp, {
      provider: 'standard',
      receivedAt: new Date('2026-03-02T08:00:00Z'),
      method: 'POST',
      path: '/standard',
      headers: [['content-type', 'application/json']],
      body: deep(100_000),
      dedupeKey: 'standard:msg_old_deep',
      eventType: null,
      userId: null,
    });
    const env = { WEARHOOK_CONFIG_DIR: tempDir(), WEARHOOK_DB: t.location };
    for (const args of [['events', 'show', String(id)], ['--json', 'events', 'show', String(id)]]) {
      const shown = await runCli(args, { env });
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('[[[[');
    }
  });
});
