import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashVerificationToken } from '../src/store/subscriptions.js';
import { OURA_WEBHOOK_DATA_TYPES } from '../src/providers/oura/data-types.js';
import { runCli, tempDir, type CliResult } from './helpers/cli.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, startFakeOuraSubs, type FakeOuraSubs } from './helpers/oura-subs-fake.js';
import { startChallengeStandIn } from './helpers/challenge-stand-in.js';
import type { TestServer } from './helpers/http-server.js';
import { execute, onPostgres, queryRows, testDatabase } from './helpers/engine.js';

/**
 * `wearhook subs` against a fake of Oura's subscription API. Runs on SQLite and on PostgreSQL
 * (vitest.config.ts BOTH_ENGINES): the PostgreSQL pass runs each command's store side once (a
 * create and a failed one, list, renew, delete); Oura's refusals and usage errors, which end
 * before the store, and the 48-pair create (the same store operations as the 2-pair one) run on
 * SQLite alone. The operations themselves are in store-subscriptions.test.ts, on both.
 */
const storeSide = it;
const wireSide = it.skipIf(onPostgres);

const DAY = 86_400_000;

let oura: FakeOuraSubs;
let receiver: TestServer | undefined;
let dir: string;
let dbFile: string;

beforeEach(async () => {
  dir = tempDir('wearhook-subs-');
  dbFile = await testDatabase(dir);
});

afterEach(async () => {
  await oura?.close();
  await receiver?.close();
  receiver = undefined;
});

function subs(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['subs', ...args], {
    env: {
      WEARHOOK_CONFIG_DIR: dir,
      WEARHOOK_DB: dbFile,
      OURA_CLIENT_ID: FAKE_CLIENT_ID,
      OURA_CLIENT_SECRET: FAKE_CLIENT_SECRET,
      WEARHOOK_OURA_API_URL: oura.url,
      ...extraEnv,
    },
  });
}

async function storedSubscriptions() {
  return {
    rows: await queryRows(dbFile, 'SELECT * FROM subscriptions ORDER BY data_type, event_type'),
    pending: (await queryRows<{ n: number }>(dbFile, 'SELECT COUNT(*) AS n FROM pending_verification_tokens'))[0]!.n,
  };
}

describe('subs create', () => {
  beforeEach(async () => {
    oura = await startFakeOuraSubs();
  });

  wireSide('--all creates one subscription per (event type, data type) pair, each answered challenge using its own stored token', async () => {
    receiver = await startChallengeStandIn(dbFile);
    const callback = `${receiver.url}/oura`;
    const res = await subs(['create', '--callback-url', callback, '--all']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const pairs = OURA_WEBHOOK_DATA_TYPES.flatMap((d) => ['create', 'update', 'delete'].map((e) => `${d}/${e}`));
    expect(pairs).toHaveLength(48);
    const created = res.stdout.trim().split('\n');
    expect(created).toHaveLength(48);
    for (const pair of pairs) expect(res.stdout).toContain(`created  ${pair}  `);

    expect(oura.subscriptions.size).toBe(48);
    expect(oura.challenges).toHaveLength(48);
    expect(oura.challenges.every((c) => c.passed)).toBe(true);
    const tokens = [...oura.tokens.values()];
    expect(new Set(tokens).size).toBe(48); // random per subscription

    // The store knows each one by the hash of its token, never the token itself.
    const { rows, pending } = await storedSubscriptions();
    expect(rows).toHaveLength(48);
    expect(pending).toBe(0);
    for (const row of rows) {
      expect(row.created_by_wearhook).toBe(1);
      expect(row.callback_url).toBe(callback);
      expect(row.verification_token_sha256).toBe(hashVerificationToken(oura.tokens.get(String(row.id))!));
    }
    const bytes = Buffer.concat(
      [dbFile, `${dbFile}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
    ).toString('latin1');
    for (const token of tokens) expect(bytes).not.toContain(token);

    // Running it again leaves existing pairs alone and succeeds.
    const again = await subs(['create', '--callback-url', callback, '--all', '--json']);
    expect(again.code).toBe(0);
    const outcomes = JSON.parse(again.stdout) as Array<{ status: string }>;
    expect(outcomes).toHaveLength(48);
    expect(outcomes.every((o) => o.status === 'exists')).toBe(true);
    expect(oura.subscriptions.size).toBe(48);
    expect(oura.challenges).toHaveLength(48);
  });

  wireSide('partial failure with --all says which pairs were created and which not, and exits 1', async () => {
    receiver = await startChallengeStandIn(dbFile);
    await oura.close();
    oura = await startFakeOuraSubs({
      refuseCreate: (body) => {
        if (body.data_type === 'daily_stress' && body.event_type === 'update') return { status: 500, body: { detail: 'Internal Server Error' } };
        if (body.data_type === 'vo2_max') {
          return { status: 422, body: { detail: [{ loc: ['body', 'data_type'], msg: 'not enabled for this application', type: 'value_error' }] } };
        }
        return undefined;
      },
    });
    const res = await subs(['create', '--callback-url', `${receiver.url}/oura`, '--all', '--event-type', 'create,update']);
    expect(res.code).toBe(1);
    // 16 data types x 2 event types, 3 refused.
    expect(res.stdout.trim().split('\n')).toHaveLength(29);
    expect(res.stdout).toContain('created  sleep/create');
    expect(res.stdout).toContain('created  daily_stress/create');
    expect(res.stdout).not.toContain('vo2_max');
    expect(res.stderr).toContain('failed   daily_stress/update: Oura answered HTTP 500: Internal Server Error');
    expect(res.stderr).toContain('failed   vo2_max/create: Oura refused the request (422: body.data_type: not enabled for this application).');
    expect(res.stderr).toMatch(/error: 3 of 32 subscriptions were not created \(daily_stress\/update, vo2_max\/create, vo2_max\/update\)/);
    expect(oura.subscriptions.size).toBe(29);
    const { rows, pending } = await storedSubscriptions();
    expect(rows).toHaveLength(29);
    expect(pending).toBe(0); // the tokens of the failed pairs are not kept
  });

  storeSide('explains the likely causes when Oura cannot verify the callback (nothing listening there)', async () => {
    const closed = await startChallengeStandIn(dbFile);
    const callback = `${closed.url}/oura`;
    await closed.close();
    const res = await subs(['create', '--callback-url', callback, '--data-type', 'sleep', '--event-type', 'create']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`Oura could not verify the callback URL ${callback} (HTTP 400: Webhook verification failed)`);
    expect(res.stderr).toMatch(/the receiver is not running/);
    expect(res.stderr).toMatch(/the URL is not public/);
    expect(res.stderr).toMatch(/the token differs/);
    expect(oura.subscriptions.size).toBe(0);
    const { rows, pending } = await storedSubscriptions();
    expect(rows).toEqual([]);
    expect(pending).toBe(0);
  });

  storeSide('uses the --verification-token given for every subscription', async () => {
    receiver = await startChallengeStandIn(dbFile);
    const res = await subs(['create', '--callback-url', `${receiver.url}/oura`, '--data-type', 'sleep,daily_readiness', '--event-type', 'create', '--verification-token', 'my-own-token-123']);
    expect(res.code).toBe(0);
    expect([...oura.tokens.values()]).toEqual(['my-own-token-123', 'my-own-token-123']);
    expect((await storedSubscriptions()).rows.map((r) => r.verification_token_sha256)).toEqual([
      hashVerificationToken('my-own-token-123'),
      hashVerificationToken('my-own-token-123'),
    ]);
  });

  wireSide('passes an unknown data type on to Oura with a warning', async () => {
    receiver = await startChallengeStandIn(dbFile);
    const res = await subs(['create', '--callback-url', `${receiver.url}/oura`, '--data-type', 'meal', '--event-type', 'create']);
    expect(res.stderr).toMatch(/warning: "meal" is not a data type .* passing it on/);
    expect(res.code).toBe(0);
    expect([...oura.subscriptions.values()].map((s) => s.data_type)).toEqual(['meal']);
  });

  wireSide('names the subscription in the way when the pair already exists for another URL', async () => {
    receiver = await startChallengeStandIn(dbFile);
    const other = oura.add({ callback_url: 'https://other.example/oura', event_type: 'create', data_type: 'sleep', inMs: 30 * DAY });
    const res = await subs(['create', '--callback-url', `${receiver.url}/oura`, '--data-type', 'sleep', '--event-type', 'create']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`Oura already has subscription ${other.id} for sleep/create, to https://other.example/oura; delete it first`);
  });

  wireSide('shows the field messages of a 422', async () => {
    await oura.close();
    oura = await startFakeOuraSubs({
      refuseCreate: () => ({ status: 422, body: { detail: [{ loc: ['body', 'callback_url'], msg: 'URL scheme should be https', type: 'url_scheme' }] } }),
    });
    const res = await subs(['create', '--callback-url', 'http://127.0.0.1:9/oura', '--data-type', 'sleep', '--event-type', 'create']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('body.callback_url: URL scheme should be https');
    expect(res.stderr).not.toMatch(/receiver is not running/);
  });

  wireSide('refuses bad usage with exit 2 before calling Oura', async () => {
    const neither = await subs(['create', '--callback-url', 'https://x.example/oura']);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--data-type .* or --all/);
    const both = await subs(['create', '--callback-url', 'https://x.example/oura', '--all', '--data-type', 'sleep']);
    expect(both.code).toBe(2);
    const badEvent = await subs(['create', '--callback-url', 'https://x.example/oura', '--all', '--event-type', 'created']);
    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toMatch(/unknown event type "created"/);
    const noCredentials = await subs(['create', '--callback-url', 'https://x.example/oura', '--all'], { OURA_CLIENT_ID: '' });
    expect(noCredentials.code).toBe(2);
    expect(noCredentials.stderr).toMatch(/OURA_CLIENT_ID/);
    expect(oura.requests).toEqual([]);
  });

  wireSide('says so when Oura refuses the application credentials, without printing the secret', async () => {
    const res = await subs(['list'], { OURA_CLIENT_SECRET: 'wrong-secret-value' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Oura refused the application's credentials \(HTTP 401/);
    expect(res.stderr).not.toContain('wrong-secret-value');
  });
});

describe('subs list', () => {
  beforeEach(async () => {
    oura = await startFakeOuraSubs();
  });

  storeSide('--json gives one object per subscription, made anywhere, with its expiry state; the store follows Oura', async () => {
    const soon = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 3 * DAY });
    const expired = oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: -DAY });
    const later = oura.add({ callback_url: 'https://b.example/oura', event_type: 'create', data_type: 'daily_readiness', inMs: 60 * DAY });
    // A row Oura no longer has disappears from the store.
    await execute(
      dbFile,
      "INSERT INTO subscriptions (id, callback_url, event_type, data_type, created_at, updated_at) VALUES ('gone', 'x', 'create', 'tag', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    );

    const res = await subs(['list', '--json']);
    expect(res.code).toBe(0);
    const list = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
    expect(list).toHaveLength(3);
    for (const item of list) {
      expect(Object.keys(item).sort()).toEqual(
        ['callback_url', 'created_by_wearhook', 'data_type', 'event_type', 'expiration_time', 'expired', 'expires_in_s', 'expiring_soon', 'id'].sort(),
      );
    }
    const byId = new Map(list.map((s) => [s.id, s]));
    expect(byId.get(soon.id)).toMatchObject({ expired: false, expiring_soon: true, expiration_time: soon.expiration_time, created_by_wearhook: false });
    expect(byId.get(soon.id)!.expires_in_s).toBeGreaterThan(2 * 86_400);
    expect(byId.get(soon.id)!.expires_in_s).toBeLessThanOrEqual(3 * 86_400);
    expect(byId.get(expired.id)).toMatchObject({ expired: true, expiring_soon: false });
    expect(byId.get(expired.id)!.expires_in_s).toBeLessThan(0);
    expect(byId.get(later.id)).toMatchObject({ expired: false, expiring_soon: false, data_type: 'daily_readiness', event_type: 'create', callback_url: 'https://b.example/oura' });
    expect((await storedSubscriptions()).rows.map((r) => r.id).sort()).toEqual([soon.id, expired.id, later.id].sort());
  });

  wireSide('prints a table that marks expired ones and those expiring within 7 days', async () => {
    const soon = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 3 * DAY + 6 * 3_600_000 });
    const expired = oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: -2 * DAY - 6 * 3_600_000 });
    oura.add({ callback_url: 'https://a.example/oura', event_type: 'delete', data_type: 'sleep', inMs: 80 * DAY + 6 * 3_600_000 });
    const res = await subs(['list']);
    expect(res.code).toBe(0);
    const line = (id: string) => res.stdout.split('\n').find((l) => l.includes(id)) ?? '';
    expect(line(soon.id)).toMatch(/3d \d+h \(renew soon\)/);
    expect(line(expired.id)).toMatch(/EXPIRED 2d \d+h ago/);
    expect(res.stdout).toMatch(/80d \d+h/);
    expect(res.stdout).toMatch(/ID .*DATA TYPE .*EVENT TYPE .*CALLBACK URL .*EXPIRES IN/);
    expect(res.stderr).toMatch(/1 expire within 7 days: run `wearhook subs renew --expiring-within 7d`/);
  });
});

describe('subs renew', () => {
  beforeEach(async () => {
    oura = await startFakeOuraSubs();
  });

  storeSide('--expiring-within renews only those expiring in the window (expired ones too) and prints the new expiry', async () => {
    const soon = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 2 * DAY });
    const expired = oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: -DAY });
    const later = oura.add({ callback_url: 'https://a.example/oura', event_type: 'delete', data_type: 'sleep', inMs: 30 * DAY });
    const laterExpiry = later.expiration_time;

    const res = await subs(['renew', '--expiring-within', '7d']);
    expect(res.code).toBe(0);
    const renewedPaths = oura.requests.filter((r) => r.startsWith('PUT'));
    expect(renewedPaths.sort()).toEqual([`PUT /v2/webhook/subscription/renew/${soon.id}`, `PUT /v2/webhook/subscription/renew/${expired.id}`].sort());
    expect(res.stdout).toContain(`renewed  ${soon.id}  sleep/create  ${oura.subscriptions.get(soon.id)!.expiration_time} (expires in 89d`);
    expect(res.stdout).toContain(`renewed  ${expired.id}  sleep/update  ${oura.subscriptions.get(expired.id)!.expiration_time}`);
    expect(res.stdout).not.toContain(later.id);
    expect(oura.subscriptions.get(later.id)!.expiration_time).toBe(laterExpiry);
    const stored = (await storedSubscriptions()).rows.find((r) => r.id === soon.id)!;
    expect(stored.expiration_time).toBe(oura.subscriptions.get(soon.id)!.expiration_time);

    // Nothing left in the window: a normal outcome for a cron job.
    const again = await subs(['renew', '--expiring-within', '7d', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([]);
    expect(again.stderr).toMatch(/No subscription expires within 7d; nothing to renew/);
  });

  wireSide('renews named ids and --all, with JSON output', async () => {
    const a = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 50 * DAY });
    const b = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'tag', inMs: 50 * DAY });
    const one = await subs(['renew', a.id, '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual([
      expect.objectContaining({ status: 'renewed', id: a.id, expiration_time: oura.subscriptions.get(a.id)!.expiration_time, expiring_soon: false }),
    ]);
    const all = await subs(['renew', '--all', '--json']);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.stdout) as Array<{ id: string }>).map((o) => o.id).sort()).toEqual([a.id, b.id].sort());
  });

  wireSide('says "no such subscription" for an unknown id (Oura answers 403) and exits 1', async () => {
    const res = await subs(['renew', 'no-such-id']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no such subscription: no-such-id');
  });

  wireSide('needs exactly one of ids, --all, --expiring-within', async () => {
    expect((await subs(['renew'])).code).toBe(2);
    expect((await subs(['renew', 'abc', '--all'])).code).toBe(2);
    expect((await subs(['renew', '--expiring-within', 'soon'])).code).toBe(2);
    expect(oura.requests).toEqual([]);
  });
});

describe('subs delete', () => {
  beforeEach(async () => {
    oura = await startFakeOuraSubs();
  });

  storeSide('without a terminal, --all needs --yes (exit 2, nothing deleted); with --yes everything goes', async () => {
    oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 50 * DAY });
    oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: 50 * DAY });
    const refused = await subs(['delete', '--all']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/add --yes/);
    expect(oura.subscriptions.size).toBe(2);
    expect(oura.requests).toEqual([]);

    const res = await subs(['delete', '--all', '--yes', '--json']);
    expect(res.code).toBe(0);
    expect((JSON.parse(res.stdout) as Array<{ status: string }>).map((o) => o.status)).toEqual(['deleted', 'deleted']);
    expect(oura.subscriptions.size).toBe(0);
    expect((await storedSubscriptions()).rows).toEqual([]);
  });

  wireSide('without a terminal, named ids are deleted without asking', async () => {
    const keep = oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 50 * DAY });
    const drop = oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: 50 * DAY });
    const res = await subs(['delete', drop.id]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`deleted  ${drop.id}`);
    expect([...oura.subscriptions.keys()]).toEqual([keep.id]);
  });

  wireSide('says "no such subscription" for an unknown id and exits 1', async () => {
    const res = await subs(['delete', 'no-such-id', '--yes']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no such subscription: no-such-id');
  });

  wireSide('needs ids or --all, not both', async () => {
    expect((await subs(['delete'])).code).toBe(2);
    expect((await subs(['delete', 'abc', '--all', '--yes'])).code).toBe(2);
  });
});
