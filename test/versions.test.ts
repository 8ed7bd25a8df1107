import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeDocumentOp } from '../src/store/documents.js';
import { runCli, tempDir } from './helpers/cli.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { send } from './helpers/receiver.js';
import { nowSeconds, standardHeaders, TEST_SECRETS } from './helpers/signing.js';
import { vitalSleep, VITAL_USER } from './fixtures/documents.js';
import { queryRows, runOp, testDatabase } from './helpers/engine.js';

/**
 * Every version kept; the current one is the newest in the provider's order, never simply the
 * last to arrive. Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

let dir: string;
let env: Record<string, string>;
let listen: ListenProcess;

beforeAll(async () => {
  dir = tempDir();
  env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: await testDatabase(dir), WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital };
  listen = await startListen(env);
});
afterAll(async () => {
  await listen.stop('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

const wearhook = (args: string[]) => runCli(args, { env, cwd: dir });

async function deliver(messageId: string, event: string, data: unknown, seconds: number): Promise<number> {
  const body = JSON.stringify({ event_type: event, user_id: VITAL_USER, client_user_id: 'P001', team_id: 't', data });
  const answer = await send(`${listen.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, messageId, body, { brand: 'svix', seconds }), body });
  expect(answer.status).toBe(200);
  const id = answer.json().id as number;
  await listen.waitForLine((l) => l.type === 'work' && l.id === id, `the work of #${id}`);
  return id;
}

describe('Vital: a late created after updated', () => {
  const created = { ...vitalSleep, id: 'vs-late', total: 25_200, hr_average: 55 };
  const updated = { ...created, total: 24_000, hr_average: 57 };
  let lateId: number;

  beforeAll(async () => {
    const now = nowSeconds();
    // The update is sent first; the created event's first attempt failed and its retry, re-signed, arrives last.
    await deliver('msg_updated', 'daily.data.sleep.updated', updated, now - 90);
    lateId = await deliver('msg_created_retry', 'daily.data.sleep.created', created, now);
  });

  it('exports the updated values, as version 2 of 2, obtained by webhook', async () => {
    const res = await wearhook(['export', '--from', '2026-03-02', '--to', '2026-03-02', '--type', 'sleep', '--format', 'json']);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source_id: 'vs-late', total_sleep_s: 24_000, avg_hr_bpm: 57, source: 'webhook', version: 2 });
  });

  it('the listen log and events show say the late one was older than what is stored', async () => {
    expect(listen.lines().find((l) => l.type === 'work' && l.id === lateId)).toMatchObject({ status: 'processed', documents: 1, older: 1 });
    const shown = await wearhook(['events', 'show', String(lateId)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/documents\s+vital sleep vs-late: version 1 of 2: older than the version already stored when it arrived \(kept as history, not exported\)/);
    const json = JSON.parse((await wearhook(['events', 'show', String(lateId), '--json'])).stdout);
    expect(json.documents).toEqual([{ provider: 'vital', type: 'sleep', id: 'vs-late', position: 1, versions: 2, current: false, arrived_older: true }]);
  });
});

describe('the provider order in the store', () => {
  it('Oura: the latest fetch wins, whichever commits last; the same content again is unchanged, also when its fetch commits late; a revert is a new version', async () => {
    const db = await testDatabase(tempDir(), undefined, 'order.db');
    const doc = (score: number) => ({ provider: 'oura', type: 'daily_readiness', id: 'r1', userId: 'u1', day: '2026-03-02', data: { id: 'r1', day: '2026-03-02', score } });
    const store = (score: number, iso: string) => runOp(db, storeDocumentOp, doc(score), { source: 'webhook', retrievedAt: new Date(iso) });
    expect(await store(70, '2026-03-02T08:00:00Z')).toBe('new');
    expect(await store(75, '2026-03-02T09:00:00Z')).toBe('updated');
    // A fetch made at 08:30 that only commits now is older than the 09:00 one.
    expect(await store(72, '2026-03-02T08:30:00Z')).toBe('older');
    expect(await store(75, '2026-03-02T10:00:00Z')).toBe('unchanged');
    // The current content from a fetch made before that one, committing late (two syncs of one page): no version added.
    expect(await store(75, '2026-03-02T09:30:00Z')).toBe('unchanged');
    expect(await store(70, '2026-03-02T11:00:00Z')).toBe('updated');
    const score = { sqlite: "json_extract(data, '$.score')", postgres: "(data::jsonb ->> 'score')::int" };
    const current = await queryRows(db, { sqlite: `SELECT ${score.sqlite} AS score, version FROM documents WHERE id = 'r1'`, postgres: `SELECT ${score.postgres} AS score, version FROM documents WHERE id = 'r1'` });
    expect(current).toEqual([{ score: 70, version: 4 }]);
    const versions = (dialect: 'sqlite' | 'postgres') => `SELECT ${score[dialect]} AS score, arrived_older FROM document_versions WHERE id = 'r1' ORDER BY order_rank, order_at, seq`;
    expect(await queryRows(db, { sqlite: versions('sqlite'), postgres: versions('postgres') })).toEqual([
      { score: 70, arrived_older: 0 },
      { score: 72, arrived_older: 1 },
      { score: 75, arrived_older: 0 },
      { score: 70, arrived_older: 0 },
    ]);
  });
});
