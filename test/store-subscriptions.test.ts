import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../src/store/db.js';
import {
  PENDING_TOKEN_TTL_MS,
  addPendingVerificationToken,
  hashVerificationToken,
  isKnownVerificationToken,
  listStoredSubscriptions,
  newVerificationToken,
  removePendingVerificationToken,
  saveCreatedSubscription,
  syncSubscriptions,
  upsertSubscription,
} from '../src/store/subscriptions.js';
import { tempDir } from './helpers/cli.js';

const sub = (id: string, over: Partial<{ callback_url: string; event_type: string; data_type: string; expiration_time: string }> = {}) => ({
  id,
  callback_url: 'https://r.example/oura',
  event_type: 'create',
  data_type: 'sleep',
  expiration_time: '2026-06-01T00:00:00+00:00',
  ...over,
});

describe('subscription store', () => {
  let db: DB;
  beforeEach(() => {
    db = openDatabase(path.join(tempDir('wearhook-store-subs-'), 'w.db'));
  });
  afterEach(() => db.close());

  it('knows a token while its subscription is being created, then by the subscription, and forgets a failed one', () => {
    const token = newVerificationToken();
    const hash = hashVerificationToken(token);
    expect(isKnownVerificationToken(db, token)).toBe(false);

    const pending = addPendingVerificationToken(db, { tokenSha256: hash, callbackUrl: 'https://r.example/oura', eventType: 'create', dataType: 'sleep' });
    expect(isKnownVerificationToken(db, token)).toBe(true);
    expect(isKnownVerificationToken(db, `${token}x`)).toBe(false);

    saveCreatedSubscription(db, sub('s1'), hash, pending);
    expect(isKnownVerificationToken(db, token)).toBe(true);
    expect(db.prepare('SELECT COUNT(*) AS n FROM pending_verification_tokens').get()).toEqual({ n: 0 });

    const failed = newVerificationToken();
    const failedPending = addPendingVerificationToken(db, {
      tokenSha256: hashVerificationToken(failed),
      callbackUrl: 'https://r.example/oura',
      eventType: 'update',
      dataType: 'sleep',
    });
    removePendingVerificationToken(db, failedPending);
    expect(isKnownVerificationToken(db, failed)).toBe(false);
    expect(isKnownVerificationToken(db, '')).toBe(false);
  });

  it('does not trust a pending token left behind by a crashed create for long', () => {
    const token = newVerificationToken();
    const createdAt = new Date('2026-03-01T12:00:00Z');
    addPendingVerificationToken(
      db,
      { tokenSha256: hashVerificationToken(token), callbackUrl: 'https://r.example/oura', eventType: 'create', dataType: 'sleep' },
      createdAt,
    );
    expect(isKnownVerificationToken(db, token, new Date(createdAt.getTime() + PENDING_TOKEN_TTL_MS - 1000))).toBe(true);
    expect(isKnownVerificationToken(db, token, new Date(createdAt.getTime() + PENDING_TOKEN_TTL_MS + 1000))).toBe(false);
  });

  it('makes random URL-safe tokens and stores only their hash', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => newVerificationToken()));
    expect(tokens.size).toBe(100);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const token = [...tokens][0]!;
    saveCreatedSubscription(db, sub('s1'), hashVerificationToken(token), 0);
    const row = listStoredSubscriptions(db)[0]!;
    expect(row.verification_token_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it('sync mirrors Oura: keeps token hashes, drops what Oura no longer has, keeps what was written while listing', () => {
    const hash = hashVerificationToken('t');
    saveCreatedSubscription(db, sub('mine'), hash, 0, new Date('2026-03-01T00:00:00Z'));
    upsertSubscription(db, sub('gone', { data_type: 'tag' }), {}, new Date('2026-03-01T00:00:00Z'));
    const listedAt = new Date('2026-03-02T00:00:00Z');
    // A create that finished after Oura produced its list.
    upsertSubscription(db, sub('just-made', { data_type: 'workout' }), { tokenSha256: hash, createdByWearhook: true }, new Date('2026-03-02T00:00:01Z'));

    syncSubscriptions(
      db,
      [sub('mine', { expiration_time: '2026-09-01T00:00:00+00:00' }), sub('elsewhere', { data_type: 'daily_sleep' })],
      listedAt,
      new Date('2026-03-02T00:00:02Z'),
    );
    const rows = new Map(listStoredSubscriptions(db).map((r) => [r.id, r]));
    expect([...rows.keys()].sort()).toEqual(['elsewhere', 'just-made', 'mine']);
    expect(rows.get('mine')).toMatchObject({ verification_token_sha256: hash, created_by_wearhook: 1, expiration_time: '2026-09-01T00:00:00+00:00' });
    expect(rows.get('elsewhere')).toMatchObject({ verification_token_sha256: null, created_by_wearhook: 0 });
  });
});
