import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { runCli, tempDir } from './helpers/cli.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { onPostgres } from './helpers/engine.js';
import { send, startTestReceiver, storedCount, type TestReceiver } from './helpers/receiver.js';
import { nowSeconds, ouraHeaders, standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/**
 * `events replay --resign`. The receiver here checks signatures against a clock the test moves:
 * a delivery signed 290 s ago is accepted, then "20 seconds later" (the clock moved, nobody
 * waits) the byte-exact replay is 310 s old and refused, while the re-signed one is accepted.
 * The replay of stored deliveries runs on SQLite and on PostgreSQL (vitest.config.ts
 * BOTH_ENGINES); the checks of the new signatures and of a missing secret once, on SQLite.
 */

let dir: string;
let target: TestReceiver;
let shift = 0;
let app: TestServer;
const got: { headers: http.IncomingHttpHeaders; body: string }[] = [];
const ids: Record<string, number> = {};
const vitalBody = '{"event_type":"daily.data.sleep.created",  "user_id":"vu-1","data":{"id":"vs-1","user_id":"vu-1","calendar_date":"2026-03-02"}}';
const ouraBody = '{"event_type":"create","data_type":"sleep","object_id":"o-1","event_time":"2026-03-02T07:00:00+00:00","user_id":"ou-1"}';

beforeAll(async () => {
  dir = tempDir();
  target = await startTestReceiver({ clock: () => Date.now() + shift });
  const signedAt = nowSeconds() - 290;
  const vital = await send(`${target.receiver.url}/vital`, { headers: standardHeaders(TEST_SECRETS.vital, 'msg_original', vitalBody, { seconds: signedAt, brand: 'svix' }), body: vitalBody });
  const oura = await send(`${target.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, ouraBody, { seconds: signedAt }), body: ouraBody });
  expect([vital.status, oura.status]).toEqual([200, 200]);
  ids.vital = vital.json().id as number;
  ids.oura = oura.json().id as number;
  app = await startServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
});
afterAll(async () => {
  await target.close();
  await app.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const env = () => ({
  WEARHOOK_CONFIG_DIR: dir,
  WEARHOOK_DB: target.location,
  WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
  OURA_CLIENT_SECRET: TEST_SECRETS.oura,
});
const wearhook = (args: string[], extra: Record<string, string> = {}) => runCli(args, { env: { ...env(), ...extra }, cwd: dir });

describe('events replay after the replay window', () => {
  it('byte-exact is refused with the receiver\'s reason; --resign is accepted; a bare --to adds /<provider>', async () => {
    shift = 20_000; // the wait
    const exact = await wearhook(['events', 'replay', String(ids.vital), String(ids.oura), '--to', target.receiver.url]);
    expect(exact.code).toBe(1);
    const lines = exact.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^#${ids.vital} vital daily\\.data\\.sleep\\.created -> ${target.receiver.url}/vital: 401 \\{"error":"timestamp too old \\(31\\d s\\)"\\} \\(\\d+ ms\\)$`));
    expect(lines[1]).toMatch(new RegExp(`^#${ids.oura} oura sleep\\.create -> ${target.receiver.url}/oura: 401 \\{"error":"timestamp too old \\(31\\d s\\)"\\}`));
    expect(exact.stderr).toMatch(/^error: 2 of 2 replayed deliveries were not accepted/);

    const before = await storedCount(target);
    const resigned = await wearhook(['events', 'replay', String(ids.vital), String(ids.oura), '--to', target.receiver.url, '--resign', '--json']);
    expect(resigned.code, resigned.stderr).toBe(0);
    const results = JSON.parse(resigned.stdout) as { id: number; http_status: number; response: string; resigned: boolean; url: string }[];
    expect(results.map((r) => [r.id, r.http_status, r.resigned, r.url])).toEqual([
      [ids.vital, 200, true, `${target.receiver.url}/vital`],
      [ids.oura, 200, true, `${target.receiver.url}/oura`],
    ]);
    // A fresh Standard Webhooks id is a new delivery; Oura has no delivery id and its body is unchanged: the same notification.
    expect(JSON.parse(results[0]!.response)).toMatchObject({ ok: true, duplicate: false });
    expect(JSON.parse(results[1]!.response)).toMatchObject({ ok: true, id: ids.oura, duplicate: true });
    expect(await storedCount(target)).toBe(before + 1);
  });

  it.skipIf(onPostgres)('the new signatures verify independently: standardwebhooks for Vital (svix-* kept), an HMAC of timestamp and body for Oura', async () => {
    got.length = 0;
    const res = await wearhook(['events', 'replay', String(ids.vital), String(ids.oura), '--to', `${app.url}/hook`, '--resign']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/\(re-signed\) -> .*\/hook: 204/);
    const [vital, oura] = got;
    expect(vital!.body).toBe(vitalBody);
    expect(vital!.headers['svix-id']).toMatch(/^msg_/);
    expect(vital!.headers['svix-id']).not.toBe('msg_original');
    expect(Math.abs(Number(vital!.headers['svix-timestamp']) - nowSeconds())).toBeLessThan(30);
    expect(vital!.headers['webhook-id']).toBeUndefined();
    const unbranded = {
      'webhook-id': String(vital!.headers['svix-id']),
      'webhook-timestamp': String(vital!.headers['svix-timestamp']),
      'webhook-signature': String(vital!.headers['svix-signature']),
    };
    expect(new Webhook(TEST_SECRETS.vital).verify(vital!.body, unbranded)).toMatchObject({ event_type: 'daily.data.sleep.created' });

    expect(oura!.body).toBe(ouraBody);
    const timestamp = String(oura!.headers['x-oura-timestamp']);
    expect(Math.abs(Number(timestamp) - nowSeconds())).toBeLessThan(30);
    const expected = createHmac('sha256', TEST_SECRETS.oura).update(timestamp + ouraBody).digest('hex').toUpperCase();
    expect(oura!.headers['x-oura-signature']).toBe(expected);
  });

  it.skipIf(onPostgres)('without the provider\'s secret --resign is a usage error and nothing is sent', async () => {
    got.length = 0;
    const res = await wearhook(['events', 'replay', String(ids.oura), '--to', app.url, '--resign'], { OURA_CLIENT_SECRET: '' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^error: --resign needs the oura signing secret: set OURA_CLIENT_SECRET/);
    expect(got).toHaveLength(0);
  });
});
