import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../src/store/db.js';
import { GroupCommit } from '../src/receiver/group-commit.js';
import { tempDir } from './helpers/cli.js';
import { deliveryCount, send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from './helpers/signing.js';

let t: TestReceiver | undefined;
let db: DB | undefined;
let dir: string | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
  db?.close();
  db = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Larger than a page, so that each new delivery needs new pages of the database. */
const body = (n: number) => JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'u-1', data: { n, note: 'z'.repeat(5000) } });

function vital(id: string, n: number) {
  return send(`${t!.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, id, body(n)), body: body(n) });
}

describe('deliveries committed together (group commit)', () => {
  it('acknowledges each of many simultaneous deliveries with its own stored row, a repeat among them once', async () => {
    t = await startTestReceiver();
    const answers = await Promise.all([...Array.from({ length: 40 }, (_, i) => vital(`msg_${i}`, i)), vital('msg_7', 7)]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const ids = answers.map((a) => a.json().id as number);
    expect(new Set(ids).size).toBe(40);
    expect(answers.filter((a) => a.json().duplicate === true)).toHaveLength(1);
    expect(deliveryCount(t.db)).toBe(40);
    // The answer carries the id of the row that holds exactly what was sent.
    const row = t.db.prepare('SELECT body FROM deliveries WHERE id = ?').get(answers[12]!.json().id) as { body: Buffer };
    expect(row.body.toString('utf8')).toBe(body(12));
  });

  it('answers 503 to every delivery while the database is full, stores none, and accepts them once there is room', async () => {
    t = await startTestReceiver();
    expect((await vital('msg_first', 0)).status).toBe(200);
    // A database that may not grow by a single page: SQLite reports SQLITE_FULL, as on a full disk.
    const pages = t.db.pragma('page_count', { simple: true }) as number;
    t.db.pragma(`max_page_count = ${pages}`);
    const refused = await Promise.all(Array.from({ length: 20 }, (_, i) => vital(`msg_${i}`, i * 1000)));
    expect(refused.map((a) => a.status)).toEqual(refused.map(() => 503));
    expect(deliveryCount(t.db)).toBe(1);
    expect(t.events.filter((e) => e.type === 'error').map((e) => (e as { message: string }).message)).toContainEqual(expect.stringMatching(/full/));

    t.db.pragma('max_page_count = 1073741823');
    // The senders retry: the same deliveries are accepted now.
    const retried = await Promise.all(Array.from({ length: 20 }, (_, i) => vital(`msg_${i}`, i * 1000)));
    expect(retried.map((a) => a.status)).toEqual(retried.map(() => 200));
    expect(retried.every((a) => a.json().duplicate === false)).toBe(true);
    expect(deliveryCount(t.db)).toBe(21);
  });

  it('undoes only the write that fails; the others of its batch are committed', async () => {
    dir = tempDir();
    db = openDatabase(path.join(dir, 'w.db'));
    db.exec('CREATE TABLE t (n INTEGER NOT NULL)');
    const commits = new GroupCommit(db);
    const insert = (n: number | null) => () => db!.prepare('INSERT INTO t (n) VALUES (?)').run(n).changes;
    const results = await Promise.allSettled([commits.run(insert(1)), commits.run(insert(null)), commits.run(insert(3))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.prepare('SELECT n FROM t ORDER BY n').all()).toEqual([{ n: 1 }, { n: 3 }]);
  });
});
