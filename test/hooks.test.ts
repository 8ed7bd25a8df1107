import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { runCli, tempDir } from './helpers/cli.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { ouraSleepDocument } from './fixtures/documents.js';
import { parseHookTarget } from '../src/forward/targets.js';
import { outboxOfDeliveryOp } from '../src/store/outbox.js';
import { testDatabase } from './helpers/engine.js';
import { send, startTestReceiver, waitUntil } from './helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * `listen --exec FILTER=COMMAND`: after a delivery's work is done the command gets the delivery
 * and what it produced as JSON on stdin (for Oura, the document fetched for it) and WEARHOOK_*
 * in its environment; a hook that hangs is killed at its timeout and recorded, and holds up
 * neither the receiver nor the other hooks. On SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

let fake: OuraFake;
let dir: string;
let listen: ListenProcess;
let env: Record<string, string>;
const out = () => path.join(dir, 'out');
const pidFile = () => path.join(dir, 'hanging.pid');

beforeAll(async () => {
  fake = await startOuraFake();
  dir = tempDir();
  fs.mkdirSync(out());
  env = { ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: await testDatabase(dir), WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital };
  await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'ou-1' });
  fake.addDocuments('ou-1', 'sleep', [ouraSleepDocument('sleep-1', '2026-03-02')]);
  // The hook: writes what it got (stdin and its WEARHOOK_* environment) to a file named after the delivery.
  const hook = path.join(dir, 'hook.mjs');
  fs.writeFileSync(
    hook,
    `let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const names = ['WEARHOOK_EVENT', 'WEARHOOK_PROVIDER', 'WEARHOOK_USER_ID', 'WEARHOOK_DELIVERY_ID'];
  const env = Object.fromEntries(names.map((k) => [k, process.env[k]]));
  require('node:fs').writeFileSync(process.argv[2] + '/' + process.env.WEARHOOK_DELIVERY_ID + '.json', JSON.stringify({ env, argv: process.argv.slice(3), input: JSON.parse(input) }));
});`.replace("require('node:fs')", "(await import('node:fs'))").replace("process.stdin.on('end', () => {", "process.stdin.on('end', async () => {"),
  );
  listen = await startListen(env, [
    // No shell: the words after the output folder reach the hook as they are written.
    '--exec', `oura:sleep.*,vital=${process.execPath} ${hook} ${out()} '$WEARHOOK_EVENT;' "two words"`,
    '--exec', `oura=sh -c 'echo $$ > ${pidFile()}; exec sleep 60'`,
    '--exec-timeout', '1s',
    '--retry-for', '1s',
  ]);
});
afterAll(async () => {
  await listen?.stop('SIGKILL');
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function notification(objectId: string) {
  const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: objectId, event_time: '2026-03-02T07:45:00+00:00', user_id: 'ou-1' });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', fake.clientSecret).update(timestamp + body).digest('hex').toUpperCase();
  return { body, headers: { 'content-type': 'application/json', 'x-oura-timestamp': timestamp, 'x-oura-signature': signature } };
}

describe('listen --exec', () => {
  it('gives the hook the fetched Oura document on stdin and WEARHOOK_* in its environment; a hanging hook is killed at its timeout and recorded, and blocks nothing', async () => {
    const { body, headers } = notification('sleep-1');
    const res = await request(`${listen.url}/oura`, { method: 'POST', headers, body });
    const id = ((await res.body.json()) as { id: number }).id;

    const done = await listen.waitForLine((l) => l.type === 'hook' && l.id === id && String(l.command).includes('hook.mjs'), 'the node hook');
    expect(done).toMatchObject({ status: 'done', exit_code: 0, attempt: 1 });
    const got = JSON.parse(fs.readFileSync(path.join(out(), `${id}.json`), 'utf8')) as { env: Record<string, string>; argv: string[]; input: Record<string, unknown> };
    expect(got.argv).toEqual(['$WEARHOOK_EVENT;', 'two words']);
    expect(got.env).toEqual({ WEARHOOK_EVENT: 'sleep.create', WEARHOOK_PROVIDER: 'oura', WEARHOOK_USER_ID: 'ou-1', WEARHOOK_DELIVERY_ID: String(id) });
    expect(got.input.delivery).toMatchObject({ id, provider: 'oura', event: 'sleep.create', user_id: 'ou-1', status: 'processed' });
    expect(got.input.payload).toEqual(JSON.parse(body));
    expect(got.input.documents).toEqual([
      expect.objectContaining({ provider: 'oura', type: 'sleep', id: 'sleep-1', user_id: 'ou-1', day: '2026-03-02', data: ouraSleepDocument('sleep-1', '2026-03-02') }),
    ]);

    // Meanwhile the other hook hangs: the receiver still answers, and the node hook runs for a Vital delivery too.
    const pid = Number(fs.readFileSync(pidFile(), 'utf8'));
    const vitalBody = '{"event_type":"daily.data.sleep.created","user_id":"vu","data":{"id":"vs","user_id":"vu","calendar_date":"2026-03-02"}}';
    const started = Date.now();
    const vital = await send(`${listen.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_hook', vitalBody, { brand: 'svix' }), body: vitalBody });
    expect(vital.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_000);
    const vitalId = vital.json().id as number;
    await listen.waitForLine((l) => l.type === 'hook' && l.id === vitalId && l.status === 'done', 'the hook of the Vital delivery');
    const vitalInput = JSON.parse(fs.readFileSync(path.join(out(), `${vitalId}.json`), 'utf8')).input as { documents: { type: string; id: string }[] };
    expect(vitalInput.documents.map((d) => [d.type, d.id])).toEqual([['sleep', 'vs']]);

    const killed = await listen.waitForLine((l) => l.type === 'hook' && l.id === id && String(l.command).startsWith('sh '), 'the hanging hook');
    expect(killed).toMatchObject({ status: 'failed', exit_code: null, error: 'gave up after 1 run: timed out after 1 s (killed)' });
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);

    const shown = JSON.parse((await runCli(['events', 'show', String(id), '--json'], { env })).stdout) as { hooks: { target: string; status: string; attempt_log: { code: number | null; error: string | null; duration_ms: number }[] }[] };
    expect(shown.hooks.map((h) => [h.target.split(' ')[0], h.status])).toEqual([
      [process.execPath, 'done'],
      ['sh', 'failed'],
    ]);
    const hung = shown.hooks[1]!.attempt_log;
    expect(hung).toEqual([expect.objectContaining({ code: null, error: 'timed out after 1 s (killed)' })]);
    expect(hung[0]!.duration_ms).toBeGreaterThanOrEqual(1_000);
    expect(hung[0]!.duration_ms).toBeLessThan(5_000);
  });
});

describe('a failing hook', () => {
  it('is run again like a forward: exit 3, then success; each run and its output recorded', async () => {
    const work = tempDir();
    const flag = path.join(work, 'ran-once');
    const t = await startTestReceiver({
      targets: [parseHookTarget(`vital=sh -c 'cat >/dev/null; if [ -e ${flag} ]; then exit 0; fi; touch ${flag}; echo not yet >&2; exit 3'`)],
      outbox: { retryDelayMs: () => 50 },
    });
    try {
      const body = '{"event_type":"daily.data.sleep.created","user_id":"vu","data":{"id":"vs-r","user_id":"vu","calendar_date":"2026-03-02"}}';
      const id = (await send(`${t.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_retry_hook', body, { brand: 'svix' }), body })).json().id as number;
      const [hook] = await waitUntil(async () => {
        const entries = await t.run(outboxOfDeliveryOp, id);
        return entries[0]?.status === 'done' && entries;
      }, 'the second run');
      expect(hook).toMatchObject({ kind: 'hook', status: 'done', attempts: 2, last_code: 0 });
      expect(hook!.attempt_log.map((a) => [a.code, a.error, a.output?.trim() ?? null])).toEqual([
        [3, 'exit code 3', 'not yet'],
        [0, null, null],
      ]);
      expect(t.events.filter((e) => e.type === 'hook').map((e) => (e as { status: string }).status)).toEqual(['retrying', 'done']);
    } finally {
      await t.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
