import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { openDatabase, type DB } from '../src/store/db.js';
import { Settings } from '../src/config/settings.js';
import { HttpClient } from '../src/net/http-client.js';
import { Pacer } from '../src/net/pacer.js';
import { upsertUser, getUser } from '../src/store/users.js';
import { upsertDocument, storeDocument } from '../src/store/documents.js';
import { finishSyncRun, startSyncRun } from '../src/store/sync-runs.js';
import { acquireLease, leaseHolder, releaseLease, renewLease } from '../src/store/leases.js';
import { ouraDocumentInput } from '../src/providers/oura/documents.js';
import { MAX_LOOK_BACK_DAYS, planRanges } from '../src/sync/reconcile.js';
import { abortableSleep, Reconciler, type ReconcileEvents } from '../src/sync/reconciler.js';
import { coverage } from '../src/sync/coverage.js';
import { addDays } from '../src/util/days.js';

/** Reconciliation's parts: the range each user needs, the lease, a pass against the Oura look-alike, the gap accounting of a pass (the rest: coverage.test.ts), the pace. */

const NOW = new Date('2026-03-10T12:00:00Z');
const TYPES = ['sleep', 'daily_readiness', 'daily_activity'];
let dir: string;
const open: DB[] = [];
const savedEnv = { ...process.env };

beforeEach(() => {
  dir = tempDir('wearhook-reconcile-');
});
afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
  Object.assign(process.env, savedEnv);
  fs.rmSync(dir, { recursive: true, force: true });
});

function database(name = 'wearhook.db'): DB {
  const db = openDatabase(path.join(dir, name));
  open.push(db);
  return db;
}

function readiness(db: DB, userId: string, day: string, source: 'webhook' | 'sync' = 'webhook'): void {
  upsertDocument(db, ouraDocumentInput('daily_readiness', userId, { id: `${userId}-r-${day}`, day, score: 80 }, source));
}

/** A complete reconciliation of the user that recorded `frontier` when it started. */
function completedRun(db: DB, userId: string, frontier: string | null, at = NOW): void {
  const run = startSyncRun(db, { provider: 'oura', kind: 'reconcile', userId, types: TYPES, from: '2026-01-01', to: '2026-03-11', frontierDay: frontier }, at);
  finishSyncRun(db, run.id, null, at);
}

describe('the range a pass reconciles', () => {
  it('looks back over the window, and further to every day since the last data the previous pass knew of', () => {
    const db = database();
    const authorised = (days: number) => new Date(NOW.getTime() - days * 86_400_000);
    upsertUser(db, { provider: 'oura', userId: 'new' }, authorised(2));
    upsertUser(db, { provider: 'oura', userId: 'steady' }, authorised(60));
    upsertUser(db, { provider: 'oura', userId: 'ring-offline' }, authorised(60));
    upsertUser(db, { provider: 'oura', userId: 'never-checked' }, authorised(30));
    upsertUser(db, { provider: 'oura', userId: 'veteran' }, authorised(400));
    for (const day of ['2026-03-08', '2026-03-09']) readiness(db, 'steady', day);
    completedRun(db, 'steady', '2026-03-08');
    // The ring was offline from 02-19: the last pass knew of data up to 02-18 only. Since then
    // a single notification (03-09) arrived; the nights between were never notified.
    readiness(db, 'ring-offline', '2026-02-18');
    completedRun(db, 'ring-offline', '2026-02-18');
    readiness(db, 'ring-offline', '2026-03-09');
    // Never reconciled: a gap may hide anywhere since it was authorised.
    readiness(db, 'never-checked', '2026-03-09');

    const ranges = planRanges(db, ['new', 'steady', 'ring-offline', 'never-checked', 'veteran'].map((id) => getUser(db, 'oura', id)!), { types: TYPES, lookBackDays: 7, now: NOW });
    const byUser = Object.fromEntries(ranges.map((r) => [r.user.user_id, { from: r.from, to: r.to, frontier: r.frontier, withoutData: r.withoutData, capped: r.capped }]));
    expect(byUser).toEqual({
      // The window: 7 local days back in any zone (a day's margin), to tomorrow.
      new: { from: '2026-03-03', to: '2026-03-11', frontier: '2026-03-07', withoutData: true, capped: false },
      steady: { from: '2026-03-03', to: '2026-03-11', frontier: '2026-03-09', withoutData: false, capped: false },
      'ring-offline': { from: '2026-02-18', to: '2026-03-11', frontier: '2026-03-09', withoutData: false, capped: false },
      'never-checked': { from: '2026-02-07', to: '2026-03-11', frontier: '2026-03-09', withoutData: false, capped: false },
      veteran: { from: addDays('2026-03-10', -MAX_LOOK_BACK_DAYS), to: '2026-03-11', frontier: '2025-02-02', withoutData: true, capped: true },
    });
  });
});

describe('leases', () => {
  it('lets one owner hold a name at a time, until it lapses, is released, or its process is gone', () => {
    const a = database();
    const b = database();
    const t = 1_000_000;
    expect(acquireLease(a, 'reconcile:oura', 'host/1/a', 60_000, t)).toBe(true);
    expect(acquireLease(b, 'reconcile:oura', 'host/2/b', 60_000, t + 1)).toBe(false);
    expect(leaseHolder(b, 'reconcile:oura', t + 1)).toMatchObject({ owner: 'host/1/a', acquired_at: t });
    // Renewed, it outlives its first expiry.
    expect(renewLease(a, 'reconcile:oura', 'host/1/a', 60_000, t + 50_000)).toBe(true);
    expect(acquireLease(b, 'reconcile:oura', 'host/2/b', 60_000, t + 70_000)).toBe(false);
    // Lapsed: the other takes it, and the first can no longer renew it.
    expect(acquireLease(b, 'reconcile:oura', 'host/2/b', 60_000, t + 111_000)).toBe(true);
    expect(renewLease(a, 'reconcile:oura', 'host/1/a', 60_000, t + 112_000)).toBe(false);
    releaseLease(a, 'reconcile:oura', 'host/1/a');
    expect(leaseHolder(a, 'reconcile:oura', t + 112_000)?.owner).toBe('host/2/b');
    releaseLease(b, 'reconcile:oura', 'host/2/b');
    expect(leaseHolder(a, 'reconcile:oura', t + 112_000)).toBeUndefined();

    // Held by a process of this machine that no longer exists: free at once.
    const dead = `${os.hostname()}/2147483646/feed`;
    expect(acquireLease(a, 'reconcile:oura', dead, 60_000)).toBe(true);
    expect(acquireLease(b, 'reconcile:oura', 'host/2/b', 60_000)).toBe(true);
  });
});

describe('Pacer', () => {
  it('spaces requests at its rate after a burst, in the order they asked', async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new Pacer(2, 2, () => now, async (ms) => void waits.push(ms));
    for (let i = 0; i < 5; i++) await pacer.take();
    expect(waits).toEqual([500, 1000, 1500]);
    now = 10_000;
    waits.length = 0;
    await pacer.take();
    expect(waits).toEqual([]);
  });
});

describe('a reconciliation pass against the Oura look-alike', () => {
  let oura: OuraFake;
  beforeEach(async () => {
    oura = await startOuraFake({ pageSize: 3 });
    Object.assign(process.env, oura.env(), { WEARHOOK_CONFIG_DIR: path.join(dir, 'config') });
  });
  afterEach(async () => {
    await oura.close();
  });

  function events() {
    const seen: { type: string; value: unknown }[] = [];
    const record = (type: string) => (value: unknown) => void seen.push({ type, value });
    const log: ReconcileEvents = { started: record('started'), user: (_p, r) => seen.push({ type: 'user', value: r }), done: record('done'), skipped: record('skipped'), error: record('error') };
    return { seen, log };
  }

  function reconciler(db: DB, owner: string, log: ReconcileEvents, options: { intervalMs?: number | null; abort?: AbortController; http?: HttpClient } = {}) {
    return new Reconciler({
      db,
      deps: { db, settings: new Settings(), http: options.http ?? new HttpClient({ sleep: async () => undefined }) },
      types: TYPES,
      lookBackDays: 3,
      intervalMs: options.intervalMs ?? null,
      owner,
      events: log,
      leasePollMs: 20,
      abort: options.abort,
    });
  }

  it('stores what no notification brought, counts it per type, and records runs the next pass looks back from', async () => {
    const db = database();
    await seedOuraUser(oura, { configDir: process.env.WEARHOOK_CONFIG_DIR!, dbPath: path.join(dir, 'wearhook.db'), userId: 'u1', label: 'P001' });
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = addDays(today, -1);
    oura.addDocuments('u1', 'daily_readiness', [
      { id: 'r-notified', day: yesterday, score: 70 },
      { id: 'r-missed', day: today, score: 71 },
    ]);
    oura.addDocuments('u1', 'daily_activity', [{ id: 'a-missed', day: yesterday, steps: 100 }]);
    // Only one of them came by webhook, and Oura revised it since.
    storeDocument(db, ouraDocumentInput('daily_readiness', 'u1', { id: 'r-notified', day: yesterday, score: 65 }, 'webhook'), { source: 'webhook', retrievedAt: new Date(Date.now() - 60_000) });

    const { seen, log } = events();
    const r = reconciler(db, 'test/1/a', log);
    r.start();
    await r.idle();
    const users = seen.filter((e) => e.type === 'user').map((e) => e.value as { types: { type: string; found: number; new: number; updated: number }[]; run_id: number });
    expect(users).toHaveLength(1);
    expect(users[0]!.types.map(({ type, found, new: n, updated }) => ({ type, found, new: n, updated }))).toEqual([
      { type: 'sleep', found: 0, new: 0, updated: 0 },
      { type: 'daily_readiness', found: 2, new: 1, updated: 1 },
      { type: 'daily_activity', found: 1, new: 1, updated: 0 },
    ]);
    expect(seen.find((e) => e.type === 'done')!.value).toMatchObject({ reason: 'start', status: 'done', users: 1, listed: 3, new: 2, updated: 1, failed: 0 });
    const run = db.prepare('SELECT kind, status, frontier_day FROM sync_runs WHERE id = ?').get(users[0]!.run_id);
    expect(run).toEqual({ kind: 'catch-up', status: 'ok', frontier_day: yesterday });

    // Gap accounting: the notified one is webhook's, the others only reconciliation's.
    expect(coverage(db).accounts).toEqual([
      expect.objectContaining({ user_id: 'u1', participant: 'P001', documents: 3, webhook: 1, reconciliation: 2, sync: 0, webhook_share: 0.333 }),
    ]);
    // A periodic pass is kind `reconcile`.
    r.request('interval');
    await r.idle();
    expect(db.prepare("SELECT COUNT(*) FROM sync_runs WHERE kind = 'reconcile' AND status = 'ok'").pluck().get()).toBe(1);
    await r.stop();
  });

  it('runs one pass at a time across processes; a periodic turn another process has served, or is serving, is skipped', async () => {
    const file = path.join(dir, 'wearhook.db');
    for (const id of ['u1', 'u2']) await seedOuraUser(oura, { configDir: process.env.WEARHOOK_CONFIG_DIR!, dbPath: file, userId: id });
    const a = events();
    const b = events();
    // Two processes: two connections, two owners.
    const ra = reconciler(database(), 'test/1/a', a.log, { intervalMs: 3_600_000 });
    const rb = reconciler(database(), 'test/2/b', b.log, { intervalMs: 3_600_000 });
    ra.start();
    rb.start();
    await Promise.all([ra.idle(), rb.idle()]);
    const db = database();
    const passes = db.prepare('SELECT owner, started_at, finished_at, status FROM reconcile_passes ORDER BY started_at').all() as { owner: string; started_at: string; finished_at: string; status: string }[];
    expect(passes.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < passes.length; i++) expect(passes[i]!.started_at >= passes[i - 1]!.finished_at, 'passes overlap').toBe(true);

    // b runs a pass after an outage of its own; a's periodic turn then comes: b's pass answers it.
    rb.request('outage');
    await rb.idle();
    ra.request('interval');
    await ra.idle();
    expect(a.seen.at(-1)).toEqual({ type: 'skipped', value: expect.objectContaining({ reason: 'interval', why: expect.stringMatching(/^a pass by another wearhook listen on this database started at /) }) });

    // Another process is running a pass right now: a periodic turn skips; a pass after an outage waits for it, then runs.
    const passesBefore = db.prepare('SELECT COUNT(*) FROM reconcile_passes').pluck().get() as number;
    expect(acquireLease(db, 'reconcile:oura', 'test/9/z', 60_000)).toBe(true);
    rb.request('interval');
    await rb.idle();
    expect(b.seen.at(-1)).toEqual({ type: 'skipped', value: expect.objectContaining({ why: 'another wearhook listen on this database (test/9/z) is running a pass' }) });
    rb.request('outage');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(db.prepare('SELECT COUNT(*) FROM reconcile_passes').pluck().get()).toBe(passesBefore);
    releaseLease(db, 'reconcile:oura', 'test/9/z');
    await rb.idle();
    expect(db.prepare('SELECT COUNT(*) FROM reconcile_passes').pluck().get()).toBe(passesBefore + 1);
    await Promise.all([ra.stop(), rb.stop()]);
  });

  it('stops at once while Oura makes it wait (Retry-After), and the pass says it stopped', async () => {
    const db = database();
    await seedOuraUser(oura, { configDir: process.env.WEARHOOK_CONFIG_DIR!, dbPath: path.join(dir, 'wearhook.db'), userId: 'u1' });
    oura.fail({ path: /\/v2\/usercollection\//, status: 429, headers: { 'retry-after': '120' }, times: 50 });
    const abort = new AbortController();
    const { seen, log } = events();
    const r = reconciler(db, 'test/1/a', log, { abort, http: new HttpClient({ sleep: abortableSleep(abort.signal) }) });
    r.start();
    while (oura.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    await r.stop(5_000);
    await r.idle();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(seen.find((e) => e.type === 'done')!.value).toMatchObject({ status: 'stopped' });
    expect(db.prepare('SELECT status FROM reconcile_passes').pluck().get()).toBe('stopped');
    expect(leaseHolder(db, 'reconcile:oura')).toBeUndefined();
  });
});

describe('schema 7', () => {
  it('upgrades a schema-6 file in place: its sync runs survive, and the next pass looks back as if none had reconciled', () => {
    const file = path.join(dir, 'v6.db');
    const old = openDatabase(file, { migrateTo: 6 });
    upsertUser(old, { provider: 'oura', userId: 'u1' }, new Date('2026-03-01T08:00:00Z'));
    // A catch-up of the first edition's listen, as schema 6 recorded it.
    const run = {
      id: Number(
        old
          .prepare(
            `INSERT INTO sync_runs (provider, kind, user_id, types, range_from, range_to, started_at, finished_at, status)
             VALUES ('oura', 'catch-up', 'u1', '["daily_readiness"]', '2026-03-01', '2026-03-05', '2026-03-05T08:00:00.000Z', '2026-03-05T08:01:00.000Z', 'ok')`,
          )
          .run().lastInsertRowid,
      ),
    };
    old.prepare(
      `INSERT INTO documents (provider, type, id, user_id, day, data, updated_at, deleted, source, version) VALUES ('oura', 'daily_readiness', 'r1', 'u1', '2026-03-04', '{}', '2026-03-05T08:00:00.000Z', 0, 'sync', 1)`,
    ).run();
    old.close();

    const db = database('v6.db');
    expect(db.prepare('SELECT id, kind, status, frontier_day FROM sync_runs').all()).toEqual([{ id: run.id, kind: 'catch-up', status: 'ok', frontier_day: null }]);
    expect(db.prepare('SELECT COUNT(*) FROM documents').pluck().get()).toBe(1);
    // That run recorded no last day: the pass looks back to the authorisation.
    const [range] = planRanges(db, [getUser(db, 'oura', 'u1')!], { types: TYPES, lookBackDays: 7, now: NOW });
    expect(range).toMatchObject({ from: '2026-02-28', frontier: '2026-03-04' });
    expect(acquireLease(db, 'reconcile:oura', 'test/1/a', 1000)).toBe(true);
  });
});
