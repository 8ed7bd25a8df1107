import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  PENDING_TOKEN_TTL_MS,
  addPendingVerificationTokenOp,
  hashVerificationToken,
  knownVerificationTokenHashesOp,
  listStoredSubscriptionsOp,
  newVerificationToken,
  removePendingVerificationTokenOp,
  saveCreatedSubscriptionOp,
  syncSubscriptionsOp,
  upsertSubscriptionOp,
} from '../src/store/subscriptions.js';
import type { Store } from '../src/store/store.js';
import { tempDir } from './helpers/cli.js';
import { openTestStore, queryRows, testDatabase } from './helpers/engine.js';

/** The subscriptions' store operations. Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES). */

const sub = (id: string, over: Partial<{ callback_url: string; event_type: string; data_type: string; expiration_time: string }> = {}) => ({
  id,
  callback_url: 'https://r.example/oura',
  event_type: 'create',
  data_type: 'sleep',
  expiration_time: '2026-06-01T00:00:00+00:00',
  ...over,
});

describe('subscription store', () => {
  let location: string;
  let store: Store;
  beforeEach(async () => {
    location = await testDatabase(tempDir('wearhook-store-subs-'), undefined, 'w.db');
    store = await openTestStore(location);
  });
  afterEach(() => store.close());

  /** What the receiver asks when Oura presents `token` in a challenge. */
  const isKnown = async (token: string, now?: Date) => token !== '' && (await store.read(knownVerificationTokenHashesOp, now)).includes(hashVerificationToken(token));
  const pendingToken = (token: string, eventType = 'create') => ({ tokenSha256: hashVerificationToken(token), callbackUrl: 'https://r.example/oura', eventType, dataType: 'sleep' });

  it('knows a token while its subscription is being created, then by the subscription, and forgets a failed one', async () => {
    const token = newVerificationToken();
    const hash = hashVerificationToken(token);
    expect(await isKnown(token)).toBe(false);

    const pending = await store.run(addPendingVerificationTokenOp, pendingToken(token));
    expect(await isKnown(token)).toBe(true);
    expect(await isKnown(`${token}x`)).toBe(false);

    await store.run(saveCreatedSubscriptionOp, sub('s1'), hash, pending);
    expect(await isKnown(token)).toBe(true);
    expect(await queryRows(location, 'SELECT COUNT(*) AS n FROM pending_verification_tokens')).toEqual([{ n: 0 }]);

    const failed = newVerificationToken();
    const failedPending = await store.run(addPendingVerificationTokenOp, pendingToken(failed, 'update'));
    await store.run(removePendingVerificationTokenOp, failedPending);
    expect(await isKnown(failed)).toBe(false);
    expect(await isKnown('')).toBe(false);
  });

  it('does not trust a pending token left behind by a crashed create for long', async () => {
    const token = newVerificationToken();
    const createdAt = new Date('2026-03-01T12:00:00Z');
    await store.run(addPendingVerificationTokenOp, pendingToken(token), createdAt);
    expect(await isKnown(token, new Date(createdAt.getTime() + PENDING_TOKEN_TTL_MS - 1000))).toBe(true);
    expect(await isKnown(token, new Date(createdAt.getTime() + PENDING_TOKEN_TTL_MS + 1000))).toBe(false);
  });

  it('makes random URL-safe tokens and stores only their hash', async () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newVerificationToken()));
    expect(tokens.size).toBe(100);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const token = [...tokens][0]!;
    await store.run(saveCreatedSubscriptionOp, sub('s1'), hashVerificationToken(token), 0);
    const row = (await store.read(listStoredSubscriptionsOp))[0]!;
    expect(row.verification_token_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('sync mirrors Oura: keeps token hashes, drops what Oura no longer has, keeps what was written while listing', async () => {
    const hash = hashVerificationToken('t');
    await store.run(saveCreatedSubscriptionOp, sub('mine'), hash, 0, new Date('2026-03-01T00:00:00Z'));
    await store.run(upsertSubscriptionOp, sub('gone', { data_type: 'tag' }), {}, new Date('2026-03-01T00:00:00Z'));
    const listedAt = new Date('2026-03-02T00:00:00Z');
    // A create that finished after Oura produced its list.
    await store.run(upsertSubscriptionOp, sub('just-made', { data_type: 'workout' }), { tokenSha256: hash, createdByWearhook: true }, new Date('2026-03-02T00:00:01Z'));

    await store.run(
      syncSubscriptionsOp,
      [sub('mine', { expiration_time: '2026-09-01T00:00:00+00:00' }), sub('elsewhere', { data_type: 'daily_sleep' })],
      listedAt,
      new Date('2026-03-02T00:00:02Z'),
    );
    const rows = new Map((await store.read(listStoredSubscriptionsOp)).map((r) => [r.id, r]));
    expect([...rows.keys()].sort()).toEqual(['elsewhere', 'just-made', 'mine']);
    expect(rows.get('mine')).toMatchObject({ verification_token_sha256: hash, created_by_wearhook: 1, expiration_time: '2026-09-01T00:00:00+00:00' });
    expect(rows.get('elsewhere')).toMatchObject({ verification_token_sha256: null, created_by_wearhook: 0 });
  });
});
