import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Output } from '../../src/cli/output.js';
import { parseForwardTarget } from '../../src/forward/targets.js';
import { buildProviders } from '../../src/providers/registry.js';
import { startReceiver } from '../../src/receiver/server.js';
import { tailDeliveries } from '../../src/receiver/tail.js';
import { ClaimLostError } from '../../src/store/claims.js';
import { insertDeliveryOp } from '../../src/store/deliveries.js';
import { storeLocation } from '../../src/store/location.js';
import { openStore } from '../../src/store/open.js';
import type { Store } from '../../src/store/store.js';
import { recordAttemptOp, registerTargetOp, type OutboxRow } from '../../src/store/outbox.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { send } from '../helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from '../helpers/signing.js';
import { adminQuery, newPostgresDatabase } from '../helpers/postgres.js';

/** The outbox (--forward-to, --exec) and the events commands on PostgreSQL, several processes on one database. */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An app on 127.0.0.1 that records each request's svix-id and answers `status(n)` after `delayMs`. */
async function app(status: (n: number) => number = () => 200, delayMs = 0): Promise<TestServer & { seen: string[]; most: () => number }> {
  const seen: string[] = [];
  let inFlight = 0;
  let most = 0;
  const server = await startServer((req, res) => {
    inFlight++;
    most = Math.max(most, inFlight);
    seen.push(String(req.headers['svix-id']));
    const n = seen.length;
    req.resume();
    setTimeout(() => {
      inFlight--;
      res.writeHead(status(n)).end('ok');
    }, delayMs);
  });
  cleanups.push(() => server.close());
  return { ...server, seen, most: () => most };
}

/** A receiver in this process on `store`, forwarding to `url` and looking for work every 50 ms. */
async function forwardingReceiver(store: Store, url: string) {
  const receiver = await startReceiver({
    store,
    port: 0,
    providers: buildProviders({ secrets: TEST_SECRETS }),
    fetchOuraDocument: () => Promise.resolve(null), // no Oura deliveries here
    targets: [parseForwardTarget(url)],
    outbox: { pollMs: 50 },
  });
  cleanups.push(() => receiver.close());
  return receiver;
}

const vital = (id: string, n: number) => {
  const body = JSON.stringify({ event_type: 'daily.data.sleep.created', user_id: 'vu', data: { id: `vs-${id}`, user_id: 'vu', calendar_date: '2026-03-02', n } });
  return { body, headers: standardHeaders(TEST_SECRETS.vital, id, body, { brand: 'svix' }) };
};

describe('the outbox on PostgreSQL', () => {
  it('two listen processes forward and hook each delivery once, in order; events show, tail and replay say what they say on SQLite', async () => {
    const url = await newPostgresDatabase();
    const dir = tempDir();
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    // Every third request is refused with a 503 first: retried, by whichever process holds the forward then.
    const target = await app((n) => (n % 3 === 0 ? 503 : 200), 15);
    const ran = path.join(dir, 'hooks.txt');
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: url, WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital };
    const args = ['--forward-to', `${target.url}/hook`, '--exec', `*=sh -c 'echo $WEARHOOK_DELIVERY_ID >> ${ran}'`, '--retry-base-ms', '20'];
    const [a, b] = await Promise.all([startListen(env, args), startListen(env, args)]);
    cleanups.push(() => a!.stop('SIGKILL'), () => b!.stop('SIGKILL'));
    await until(() => a!.stderr().includes(`forwarding every delivery to ${target.url}/hook`), 'the forwarding line');

    const ids: string[] = [];
    const stored: number[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(`msg_${i}`);
      const answer = await send(`${(i % 2 ? a! : b!).url}/vital`, vital(`msg_${i}`, i));
      expect(answer.status).toBe(200);
      stored.push(answer.json().id as number);
    }
    const hookLines = () => (fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8').trim().split('\n') : []);
    await until(() => new Set(target.seen).size === 12 && hookLines().length >= 12, 'every delivery forwarded and hooked');
    await until(async () => (await adminQuery<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE status <> 'done'`, [], url))[0]!.n === '0', 'every outbox row done');
    // In arrival order, one at a time across both processes (a 503 is followed by its retry), and each hook ran once.
    expect(target.seen.filter((id, i) => id !== target.seen[i - 1])).toEqual(ids);
    expect(target.most()).toBe(1);
    expect(hookLines().map(Number).sort((x, y) => x - y)).toEqual(stored);
    const forwardLines = [...a!.lines(), ...b!.lines()].filter((l) => l.type === 'forward' && l.status === 'delivered');
    expect(forwardLines.map((l) => l.id).sort((x, y) => Number(x) - Number(y))).toEqual(stored);
    await Promise.all([a!.stop('SIGTERM'), b!.stop('SIGTERM')]);

    // The same database as a SQLite file: each events command prints the same on both engines.
    const file = path.join(dir, 'copy.db');
    const copied = await runCli(['db', 'copy', '--from', url, '--to', file], { env });
    expect(copied.code, copied.stderr).toBe(0);
    const retried = stored[2]!; // its first forward was refused with a 503
    const both = (cmd: string[]) => Promise.all([runCli(cmd, { env }), runCli(cmd, { env: { ...env, WEARHOOK_DB: file } })]);
    const replayTo = await app();
    const [[showPg, showFile], [tailPg, tailFile], replayed, resigned] = await Promise.all([
      both(['events', 'show', String(retried), '--json']),
      both(['events', 'tail', '-n', '5', '--json']),
      // Replay from PostgreSQL, byte for byte and re-signed: the app gets the stored delivery again.
      runCli(['events', 'replay', String(stored[0]), '--to', `${replayTo.url}/hook`], { env }),
      runCli(['events', 'replay', String(stored[1]), '--to', `${replayTo.url}/hook`, '--resign'], { env }),
    ]);
    expect(showPg.code, showPg.stderr).toBe(0);
    expect(showPg.stdout).toBe(showFile.stdout);
    const shown = JSON.parse(showPg.stdout) as { forwards: { status: string; attempt_log: { code: number }[] }[]; hooks: { status: string }[] };
    expect(shown.forwards.map((f) => [f.status, f.attempt_log.map((x) => x.code)])).toEqual([['done', [503, 200]]]);
    expect(shown.hooks.map((h) => h.status)).toEqual(['done']);
    expect(tailPg.code, tailPg.stderr).toBe(0);
    expect(tailPg.stdout).toBe(tailFile.stdout);
    expect(tailPg.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id)).toEqual(stored.slice(-5));
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(new RegExp(`^#${stored[0]} vital daily\\.data\\.sleep\\.created -> ${replayTo.url}/hook: 200`));
    expect(resigned.code, resigned.stderr).toBe(0);
    expect(resigned.stdout).toMatch(new RegExp(`^#${stored[1]} vital daily\\.data\\.sleep\\.created \\(re-signed\\) -> ${replayTo.url}/hook: 200`));
    // Byte for byte keeps the message id; re-signed gets a new one.
    expect(replayTo.seen).toContain('msg_0');
    expect(replayTo.seen.filter((id) => id !== 'msg_0')).toEqual([expect.not.stringMatching(/^msg_1$/)]);
  });

  it("takes over a forward whose holder died once its lease lapses; the late holder's result is refused; forward-retry works on it", async () => {
    const url = await newPostgresDatabase();
    const store = await openStore(storeLocation(url));
    cleanups.push(() => store.close());
    const target = await app();
    const { id } = await store.run(insertDeliveryOp, { provider: 'vital', receivedAt: new Date(), method: 'POST', path: '/vital', headers: [['svix-id', 'msg_held']], body: Buffer.from('{}'), dedupeKey: 'vital:msg_held', eventType: 'daily.data.sleep.created', userId: 'vu' });
    // A receiver on another machine made the forward and died holding it for another 1.5 s.
    const dead = 'elsewhere/4242/abcdef';
    const [{ id: targetId }] = await adminQuery<{ id: string }>(
      `INSERT INTO outbox_targets (kind, target, filter, cursor, created_at) VALUES ('forward', $1, NULL, $2, now()::text) RETURNING id`,
      [`${target.url}/hook`, id],
      url,
    );
    const now = Date.now();
    const [held] = await adminQuery<OutboxRow & { id: string }>(
      `INSERT INTO outbox (target_id, delivery_id, status, attempts, next_attempt_at, give_up_at, created_at, claim_owner, claim_until)
       VALUES ($1, $2, 'pending', 0, $3, $4, now()::text, $5, $6) RETURNING *`,
      [targetId, id, now, now + 3_600_000, dead, now + 1_500],
      url,
    );
    const receiver = await forwardingReceiver(store, `${target.url}/hook`);
    await until(() => target.seen.length === 1, 'the forward taken over');
    expect(Date.now() - now).toBeGreaterThanOrEqual(1_400);
    await receiver.idle();
    expect(target.seen).toEqual(['msg_held']);
    // The dead holder comes back with its result: refused, nothing recorded twice.
    const late = { startedAt: new Date(), durationMs: 1, code: 200, error: null, status: 'done' as const };
    await expect(store.run(recordAttemptOp, dead, { id: Number(held!.id), attempts: 0 }, late)).rejects.toBeInstanceOf(ClaimLostError);
    expect(await adminQuery(`SELECT attempt, code FROM outbox_attempts`, [], url)).toEqual([{ attempt: 1, code: 200 }]);

    // forward-retry on PostgreSQL: already delivered, says so.
    const again = await runCli(['events', 'forward-retry', String(id)], { env: { WEARHOOK_DB: url } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already delivered/);
  });
  it('forwards a delivery whose insert commits after a later one (ids commit out of order, no cursor skips it); tail --follow reads by id too', async () => {
    const url = await newPostgresDatabase();
    const store = await openStore(storeLocation(url));
    cleanups.push(() => store.close());
    const target = await app();
    // The target was forwarded to before (a listen that stopped): its cursor is before both deliveries.
    await store.run(registerTargetOp, 'forward', `${target.url}/hook`, null);
    const delivery = (id: string) => {
      const { body, headers } = vital(id, 1);
      return { provider: 'vital', receivedAt: new Date(), method: 'POST', path: '/vital', headers: Object.entries(headers), body: Buffer.from(body), dedupeKey: `vital:${id}`, eventType: 'daily.data.sleep.created', userId: 'vu' };
    };
    // A slow insert: it has its id, the lower one, but has not committed yet...
    let inserted!: () => void;
    let commit!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    const committing = store.transaction(async (tx) => {
      await tx.run(insertDeliveryOp, delivery('msg_early'));
      inserted();
      await new Promise<void>((resolve) => (commit = resolve));
    });
    await insertedYet;
    cleanups.push(async () => (commit(), await committing));
    // ...while a later one commits with the higher id.
    const late = await store.run(insertDeliveryOp, delivery('msg_late'));
    expect(await adminQuery(`SELECT id, dedupe_key FROM deliveries`, [], url)).toEqual([{ id: String(late.id), dedupe_key: 'vital:msg_late' }]);
    await forwardingReceiver(store, `${target.url}/hook`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Nothing overtakes the delivery still being inserted (forwards go in id order)...
    expect(target.seen).toEqual([]);
    commit();
    await committing;
    // ...and once it commits, both go, in order: the cursor never moved past it.
    await until(() => target.seen.length === 2, 'both forwarded');
    expect(target.seen).toEqual(['msg_early', 'msg_late']);

    // events tail --follow on PostgreSQL prints what is stored after it starts, by id, up to the horizon.
    const out = new PassThrough();
    let printed = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString('utf8')));
    let stopTail!: () => void;
    const following = tailDeliveries(store, new Output({}, out as unknown as NodeJS.WriteStream, out as unknown as NodeJS.WriteStream), {
      filter: { provider: 'vital' },
      limit: 1,
      follow: true,
      json: true,
      intervalMs: 50,
      stop: new Promise<void>((resolve) => (stopTail = resolve)),
    });
    await until(() => printed.split('\n').length === 2, 'the latest delivery');
    const next = await store.run(insertDeliveryOp, delivery('msg_next'));
    await until(() => printed.split('\n').length === 3, 'the new delivery followed');
    stopTail();
    await following;
    expect(printed.trim().split('\n').map((line) => (JSON.parse(line) as { id: number }).id)).toEqual([late.id, next.id]);
  });
});
