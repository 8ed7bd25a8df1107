import { describe, expect, it } from 'vitest';
import { SubscriptionKeeper, type HeldSubscription, type SubscriptionOps } from '../src/subscriptions/keeper.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-10T12:00:00Z');

/** Oura's subscription list in memory, one subscription per (event type, data type) as Oura allows. */
function fakeOura(expiresInMs = 90 * DAY) {
  const subs = new Map<string, HeldSubscription & { callback_url: string }>();
  let next = 1;
  const calls: string[] = [];
  const ops: SubscriptionOps = {
    async list() {
      calls.push('list');
      return [...subs.values()].map((s) => ({ ...s }));
    },
    async create(callbackUrl, dataTypes) {
      calls.push(`create ${callbackUrl} ${dataTypes.join(',')}`);
      return dataTypes.flatMap((data_type) =>
        ['create', 'update', 'delete'].map((event_type) => {
          const clash = [...subs.values()].find((s) => s.data_type === data_type && s.event_type === event_type);
          if (clash?.callback_url === callbackUrl) return { event_type, data_type, status: 'exists' as const, subscription: clash };
          if (clash) return { event_type, data_type, status: 'failed' as const, error: new Error('409 duplicate') };
          const sub = { id: `sub-${next++}`, callback_url: callbackUrl, event_type, data_type, expiration_time: new Date(NOW + expiresInMs).toISOString() };
          subs.set(sub.id, sub);
          return { event_type, data_type, status: 'created' as const, subscription: sub };
        }),
      );
    },
    async renew(ids) {
      calls.push(`renew ${ids.join(',')}`);
      return ids.map((id) => {
        const sub = subs.get(id)!;
        sub.expiration_time = new Date(NOW + 90 * DAY).toISOString();
        return { id, status: 'renewed' as const, subscription: { ...sub } };
      });
    },
    async delete(ids) {
      calls.push(`delete ${ids.join(',')}`);
      return ids.map((id) => (subs.delete(id) ? { id, status: 'deleted' as const } : { id, status: 'failed' as const, error: new Error('no such subscription') }));
    },
  };
  return { ops, subs, calls };
}

function recordingLog() {
  const lines: string[] = [];
  return { lines, info: (t: string) => lines.push(`info: ${t}`), warn: (t: string) => lines.push(`warn: ${t}`) };
}

describe('subscription keeper', () => {
  it('subscribes, renews only what is near expiry, and deletes what it made at the end', async () => {
    const oura = fakeOura();
    const log = recordingLog();
    let now = NOW;
    const keeper = new SubscriptionKeeper(oura.ops, ['sleep', 'daily_readiness'], log, () => now);
    await keeper.subscribe('https://a.example/oura');
    expect(oura.subs.size).toBe(6);
    expect([...oura.subs.values()].every((s) => s.callback_url === 'https://a.example/oura')).toBe(true);

    await keeper.renewDue();
    expect(oura.calls.filter((c) => c.startsWith('renew'))).toEqual([]);

    // One of them comes within 7 days of its expiry; another is deleted behind the run's back.
    oura.subs.get('sub-1')!.expiration_time = new Date(NOW + 8 * DAY).toISOString();
    oura.subs.delete('sub-6');
    now = NOW + 2 * DAY;
    await keeper.renewDue();
    expect(oura.calls.at(-1)).toBe('renew sub-1');
    expect(log.lines).toContain(
      'warn: subscription sub-6 is gone from Oura (deleted elsewhere or expired); restart with --subscribe to make it again',
    );
    expect(log.lines).toContainEqual(expect.stringMatching(/^info: renewed subscription sub-1 \(sleep\/create\) until /));

    await keeper.release(false);
    expect(oura.subs.size).toBe(0);
    expect(log.lines.at(-1)).toBe('info: deleted 5 subscription(s) this run made');
  });

  it('leaves subscriptions that were there before the run alone at the end', async () => {
    const oura = fakeOura();
    const before = new SubscriptionKeeper(oura.ops, ['sleep'], recordingLog(), () => NOW);
    await before.subscribe('https://a.example/oura');
    const log = recordingLog();
    const keeper = new SubscriptionKeeper(oura.ops, ['sleep', 'workout'], log, () => NOW);
    await keeper.subscribe('https://a.example/oura');
    expect(log.lines[0]).toBe('info: subscribed https://a.example/oura: 3 created, 3 already there');
    await keeper.release(false);
    expect([...oura.subs.values()].map((s) => s.data_type)).toEqual(['sleep', 'sleep', 'sleep']);
  });

  it('keeps them with --keep-subscriptions and says how to remove them', async () => {
    const oura = fakeOura();
    const log = recordingLog();
    const keeper = new SubscriptionKeeper(oura.ops, ['sleep'], log, () => NOW);
    await keeper.subscribe('https://a.example/oura');
    await keeper.release(true);
    expect(oura.subs.size).toBe(3);
    expect(log.lines.at(-1)).toBe('info: keeping 3 subscription(s) for https://a.example/oura; remove them with `wearhook subs delete sub-1 sub-2 sub-3`');
  });

  it('moves every subscription of the run to a new URL, old ones first', async () => {
    const oura = fakeOura();
    const keeper = new SubscriptionKeeper(oura.ops, ['sleep'], recordingLog(), () => NOW);
    await keeper.subscribe('https://a.example/oura');
    await keeper.move('https://b.example/oura');
    expect(oura.calls.slice(1).filter((c) => c !== 'list')).toEqual(['delete sub-1,sub-2,sub-3', 'create https://b.example/oura sleep']);
    expect([...oura.subs.values()].map((s) => s.callback_url)).toEqual(Array(3).fill('https://b.example/oura'));
    await keeper.release(false);
    expect(oura.subs.size).toBe(0);
  });

  it('fails when Oura refuses every subscription', async () => {
    const ops: SubscriptionOps = {
      list: async () => [],
      create: async (_url, types) => types.map((data_type) => ({ data_type, event_type: 'create', status: 'failed' as const, error: new Error('Oura could not verify the callback URL') })),
      renew: async () => [],
      delete: async () => [],
    };
    await expect(new SubscriptionKeeper(ops, ['sleep'], recordingLog()).subscribe('https://a.example/oura')).rejects.toThrow(
      'No Oura subscription could be made for https://a.example/oura: Oura could not verify the callback URL',
    );
  });
});
