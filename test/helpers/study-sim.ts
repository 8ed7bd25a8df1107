import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { expect } from 'vitest';
import { execute, queryRows, testDatabase } from './engine.js';
import { runCli, tempDir } from './cli.js';
import { startListen, type ListenProcess } from './listen-process.js';
import { startOuraFake, type OuraFake } from './oura-fake.js';
import { seedOuraUser } from './oura-user.js';
import { ouraHeaders } from './signing.js';
import { ouraNight } from './study-seed.js';

/**
 * A study run the way Oura behaves, against `wearhook listen` as child processes and the Oura
 * look-alike: each simulated day (a tick of a few hundred milliseconds) every participant's
 * ring produces a night of sleep, a readiness and an activity day, and Oura notifies — or
 * does not: a seeded sender drops some notifications, sends some twice, sends some before the
 * document can be read, revises some documents without a notification, and one participant's
 * ring stays offline for days and then syncs them all at once. `listen` is killed outright
 * (SIGKILL) for some days and started again; what Oura sends meanwhile is lost.
 */

export const SIM_TYPES = ['sleep', 'daily_readiness', 'daily_activity'] as const;
type SimType = (typeof SIM_TYPES)[number];

export interface StudySimOptions {
  users: number;
  days: number;
  /** Wall milliseconds per simulated day. */
  tickMs: number;
  /** Chances per notification (seeded). */
  drop: number;
  repeat: number;
  early: number;
  /** `listen` processes sharing the database, each notification going to one of those up (default 1). */
  receivers?: number;
  /** Days on which a `listen` (default the first) is killed, and for how many days it stays down. */
  outages: { day: number; days: number; receiver?: number }[];
  /** Participant index whose ring is offline for these days, then syncs them on `syncDay`. */
  ringOffline?: { user: number; from: number; to: number; syncDay: number };
  /**
   * Readiness days revised by Oura two days later, without an update notification: those of the
   * last `reviseLastDays` days (Oura revises recent days; reconciliation's look-back window is
   * what finds those revisions, and the window is counted back from the real today).
   */
  reviseLastDays?: number;
  /** `listen --reconcile-interval` (e.g. '2s') and its milliseconds. */
  interval: string;
  intervalMs: number;
  reconcileDays: number;
  /** Access tokens live this long (s): short lives make the receiver and the reconciliation refresh while both run. */
  tokenLifeS?: number;
  seed?: number;
  /** Extra `listen` arguments. */
  listenArgs?: string[];
}

export interface SimDocument {
  userId: string;
  type: SimType;
  id: string;
  day: string;
  /** A notification of it was answered 2xx by wearhook. */
  notified: boolean;
  /** The value the latest version carries (readiness score), to check the export shows the revision. */
  score?: number;
}

export interface StudySimResult {
  dir: string;
  env: Record<string, string>;
  oura: OuraFake;
  documents: SimDocument[];
  /** When the last document became readable at Oura (epoch ms). */
  lastDocumentAt: number;
  /** The listens running at the end, and every NDJSON line of every listen of the run. */
  listens: ListenProcess[];
  lines(): Record<string, unknown>[];
  /** stderr of every listen of the run, in order. */
  stderr(): string;
  counts: { notifications: number; dropped: number; repeated: number; early: number; lost: number; revised: number; kills: number };
  close(): Promise<void>;
}

/** A small deterministic generator (mulberry32), so that a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

function ouraDocument(type: SimType, userId: string, day: string, seed: number, score?: number): Record<string, unknown> {
  if (type === 'sleep') return { ...ouraNight(userId, day, seed), id: `${userId}-sleep-${day}` };
  if (type === 'daily_readiness') return { id: `${userId}-readiness-${day}`, day, score: score ?? 60 + (seed % 35), temperature_deviation: 0.1, contributors: { hrv_balance: 80 } };
  return { id: `${userId}-activity-${day}`, day, score: 50 + (seed % 45), steps: 4000 + seed * 37, non_wear_time: 3600, equivalent_walking_distance: 5200 };
}

export async function runStudySim(options: StudySimOptions): Promise<StudySimResult> {
  const rand = random(options.seed ?? 17);
  const dir = tempDir('wearhook-study-sim-');
  const oura = await startOuraFake({ pageSize: 100 });
  oura.expiresIn = options.tokenLifeS ?? 86_400;
  const env: Record<string, string> = {
    ...oura.env(),
    WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
    // A SQLite file, or a PostgreSQL database in the `postgres` test project (helpers/engine.ts).
    WEARHOOK_DB: await testDatabase(dir),
  };
  const users = Array.from({ length: options.users }, (_, i) => `sim-user-${i + 1}`);
  for (const [i, userId] of users.entries()) {
    await seedOuraUser(oura, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId, label: `P${String(i + 1).padStart(3, '0')}` });
  }
  const today = new Date().toISOString().slice(0, 10);
  const firstDay = addDays(today, -(options.days - 1));
  // The participants enrolled (authorised) when the study began, its first simulated day.
  await execute(env.WEARHOOK_DB!, "UPDATE users SET created_at = ? WHERE provider = 'oura'", [`${firstDay}T08:00:00.000Z`]);
  const args = ['--reconcile', '--reconcile-interval', options.interval, '--reconcile-days', String(options.reconcileDays), '--data-type', SIM_TYPES.join(','), ...(options.listenArgs ?? [])];
  const processes: ListenProcess[] = [];
  const start = async () => {
    const started = await startListen(env, args);
    processes.push(started);
    return started;
  };

  const receivers: (ListenProcess | undefined)[] = [];
  for (let i = 0; i < (options.receivers ?? 1); i++) receivers.push(await start());
  // Which receiver a notification goes to: its own generator, so that the sender's fates stay those of the seed.
  const route = random((options.seed ?? 17) + 1);
  const documents = new Map<string, SimDocument>();
  const counts = { notifications: 0, dropped: 0, repeated: 0, early: 0, lost: 0, revised: 0, kills: 0 };
  let lastDocumentAt = Date.now();
  const pending: Promise<void>[] = [];

  /** The revision each document is at: a late publication of an early-notified first version never undoes a revision. */
  const revisionOf = new Map<string, number>();
  const publish = (userId: string, type: SimType, doc: Record<string, unknown>, revision = 0) => {
    const key = `${type}:${String(doc.id)}`;
    if ((revisionOf.get(key) ?? -1) > revision) return;
    revisionOf.set(key, revision);
    oura.addDocuments(userId, type, [doc]);
    lastDocumentAt = Math.max(lastDocumentAt, Date.now());
  };
  /** One notification as Oura sends it, to a receiver that is up; true when wearhook answered 2xx. */
  const notify = async (userId: string, type: SimType, id: string, event: 'create' | 'update'): Promise<boolean> => {
    counts.notifications++;
    const up = receivers.filter((r): r is ListenProcess => r !== undefined);
    if (up.length === 0) {
      counts.lost++;
      return false;
    }
    const target = up[Math.floor(route() * up.length)]!;
    const body = JSON.stringify({ event_type: event, data_type: type, object_id: id, event_time: new Date().toISOString(), user_id: userId });
    try {
      const res = await request(`${target.url}/oura`, { method: 'POST', headers: ouraHeaders(oura.clientSecret, body), body });
      await res.body.text();
      return res.statusCode >= 200 && res.statusCode < 300;
    } catch {
      counts.lost++;
      return false;
    }
  };
  /** The sender's fate for one document: dropped, repeated, early or plain. */
  const send = (doc: SimDocument, data: Record<string, unknown>, event: 'create' | 'update') => {
    const r = rand();
    if (event === 'update') {
      // A revision: Oura changes the document and its update notification never comes.
      publish(doc.userId, doc.type, data, 1);
      return;
    }
    if (r < options.drop) {
      counts.dropped++;
      publish(doc.userId, doc.type, data);
      return;
    }
    if (r < options.drop + options.early) {
      counts.early++;
      pending.push(
        (async () => {
          if (await notify(doc.userId, doc.type, doc.id, event)) doc.notified = true;
          await sleep(Math.round(options.tickMs / 2));
          publish(doc.userId, doc.type, data);
        })(),
      );
      return;
    }
    publish(doc.userId, doc.type, data);
    const times = r < options.drop + options.early + options.repeat ? 2 : 1;
    if (times === 2) counts.repeated++;
    pending.push(
      (async () => {
        for (let i = 0; i < times; i++) if (await notify(doc.userId, doc.type, doc.id, event)) doc.notified = true;
      })(),
    );
  };

  const withheld: { doc: SimDocument; data: Record<string, unknown> }[] = [];
  const revisions: { on: number; doc: SimDocument; data: Record<string, unknown> }[] = [];
  let seed = 0;
  for (let tick = 0; tick < options.days; tick++) {
    const tickStarted = Date.now();
    for (const outage of options.outages.filter((o) => o.day === tick)) {
      const index = outage.receiver ?? 0;
      if (!receivers[index]) continue;
      // Killed between deliveries: each notification sent so far was answered, or refused.
      await Promise.all(pending);
      await receivers[index]!.stop('SIGKILL');
      receivers[index] = undefined;
      counts.kills++;
    }
    for (const back of options.outages.filter((o) => o.day + o.days === tick)) {
      const index = back.receiver ?? 0;
      receivers[index] ??= await start();
    }
    const day = addDays(firstDay, tick);
    for (const [u, userId] of users.entries()) {
      for (const type of SIM_TYPES) {
        const data = ouraDocument(type, userId, day, seed++);
        const doc: SimDocument = { userId, type, id: String(data.id), day, notified: false, score: type === 'daily_readiness' ? Number(data.score) : undefined };
        documents.set(`${type}:${doc.id}`, doc);
        const offline = options.ringOffline;
        const withheldNow = offline !== undefined && offline.user === u && tick >= offline.from && tick <= offline.to;
        if (withheldNow) withheld.push({ doc, data });
        else send(doc, data, 'create');
        const revise = options.reviseLastDays !== undefined && tick >= options.days - options.reviseLastDays && tick + 2 < options.days;
        if (type === 'daily_readiness' && !withheldNow && revise) {
          const revised = { ...data, score: Number(data.score) + 5 };
          revisions.push({ on: tick + 2, doc, data: revised });
        }
      }
    }
    if (options.ringOffline?.syncDay === tick) for (const { doc, data } of withheld.splice(0)) send(doc, data, 'create');
    for (const r of revisions.filter((r) => r.on === tick)) {
      // Oura revises a readiness day; its update notification never comes.
      counts.revised++;
      r.doc.score = Number(r.data.score);
      send(r.doc, r.data, 'update');
    }
    await sleep(Math.max(0, options.tickMs - (Date.now() - tickStarted)));
  }
  for (let i = 0; i < receivers.length; i++) receivers[i] ??= await start();
  await Promise.all(pending);
  const running = receivers as ListenProcess[];
  return {
    dir,
    env,
    oura,
    documents: [...documents.values()],
    lastDocumentAt,
    listens: running,
    lines: () => processes.flatMap((p) => p.lines()),
    stderr: () => processes.map((p, i) => `--- listen ${i + 1}\n${p.stderr()}`).join('\n'),
    counts,
    close: async () => {
      for (const listen of running) await listen.stop('SIGKILL');
      await oura.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Export sleep, readiness and activity as JSON with the CLI; rows per table. */
export async function exportStudy(sim: StudySimResult, from: string, to: string): Promise<Record<'sleep' | 'readiness' | 'activity', Record<string, unknown>[]>> {
  const out = path.join(sim.dir, `export-${Date.now()}`);
  const res = await runCli(['export', '--from', from, '--to', to, '--type', 'sleep,readiness,activity', '--format', 'json', '--out', out], { env: sim.env });
  if (res.code !== 0) throw new Error(`export failed: ${res.stderr}`);
  const read = (t: string) => JSON.parse(fs.readFileSync(path.join(out, `${t}.json`), 'utf8')) as Record<string, unknown>[];
  return { sleep: read('sleep'), readiness: read('readiness'), activity: read('activity') };
}

const isDone = (l: Record<string, unknown>) => l.type === 'reconcile-pass' && l.state === 'done';

/**
 * What the study must show once the sender is done: the first pass to start after the
 * last document within one interval of it (passes start one interval apart, or at the end of
 * one that ran longer; a second of grace for timers on a busy machine); every document
 * exported, each once, revisions included; reconcile lines; after each restart a catch-up (or
 * another receiver's pass that answered it); `events coverage` telling exactly which documents a
 * notification brought; passes of several receivers never at once.
 */
export async function expectStudyComplete(sim: StudySimResult, intervalMs: number): Promise<void> {
  const { documents } = sim;
  const last = sim.lastDocumentAt;
  const after = (l: Record<string, unknown>) => isDone(l) && Date.parse(String(l.started_at)) >= last;
  const pass = await Promise.race(sim.listens.map((l) => l.waitForLine(after, 'a reconciliation pass after the last document', 60_000)));
  const before = sim.lines().filter((l) => isDone(l) && Date.parse(String(l.started_at)) < last).sort((x, y) => Date.parse(String(x.started_at)) - Date.parse(String(y.started_at))).at(-1);
  const due = before ? Date.parse(String(before.started_at)) + Math.max(intervalMs, Number(before.duration_ms)) : last;
  expect(Date.parse(String(pass.started_at))).toBeLessThanOrEqual(Math.max(due, last) + 1_000);

  const days = documents.map((d) => d.day).sort();
  const exported = await exportStudy(sim, days[0]!, days.at(-1)!);
  const tables = { sleep: 'sleep', readiness: 'daily_readiness', activity: 'daily_activity' } as const;
  for (const [table, type] of Object.entries(tables) as [keyof typeof tables, SimType][]) {
    const ids = exported[table].map((row) => row.source_id);
    const expected = documents.filter((d) => d.type === type).map((d) => d.id);
    // Every document, each once.
    expect(ids.length, `${table} rows`).toBe(expected.length);
    expect(new Set(ids).size, `${table} distinct`).toBe(ids.length);
    expect([...ids].sort(), table).toEqual([...expected].sort());
  }
  // Revisions whose update was never notified are exported as revised.
  const score = new Map(exported.readiness.map((r) => [r.source_id, r.score]));
  for (const d of documents.filter((d) => d.type === 'daily_readiness')) expect(score.get(d.id), d.id).toBe(d.score);

  // The reconciliation is visible: NDJSON lines per user and type, with what they found.
  const reconcile = sim.lines().filter((l) => l.type === 'reconcile');
  for (const l of reconcile) expect(l).toMatchObject({ user_id: expect.any(String), data_type: expect.any(String), found: expect.any(Number), new: expect.any(Number), updated: expect.any(Number) });
  expect(reconcile.reduce((sum, l) => sum + Number(l.new), 0)).toBeGreaterThan(0);
  // Each receiver running now started again after a kill (or at the start): its first pass
  // caught up on every participant (the first edition's lines kept), or another's answered it.
  const users = [...new Set(documents.map((d) => d.userId))].sort();
  for (const listen of sim.listens) {
    const served = await listen.waitForLine((l) => l.type === 'reconcile-pass' && l.reason === 'start' && l.state !== 'started', 'its pass at start done or skipped', 60_000);
    expect(['done', 'skipped'], 'its pass at start').toContain(served.state);
    if (served.state === 'done') expect([...new Set(listen.lines().filter((l) => l.type === 'catch-up').map((l) => l.user_id))].sort()).toEqual(users);
  }

  // Gap accounting: per participant, what webhooks brought and what only reconciliation found.
  const res = await runCli(['--json', 'events', 'coverage'], { env: sim.env });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  const coverage = JSON.parse(res.stdout) as {
    accounts: { user_id: string; participant: string; documents: number; webhook: number; reconciliation: number; sync: number }[];
  };
  expect(coverage.accounts.map((a) => a.user_id).sort()).toEqual(users);
  for (const account of coverage.accounts) {
    expect(account.participant).toMatch(/^P\d{3}$/);
    const mine = documents.filter((d) => d.userId === account.user_id);
    expect(account, account.user_id).toMatchObject({
      documents: mine.length,
      webhook: mine.filter((d) => d.notified).length,
      reconciliation: mine.filter((d) => !d.notified).length,
      sync: 0,
    });
  }

  // However many receivers, their passes never ran at once.
  const passes = await queryRows<{ started_at: string; finished_at: string }>(sim.env.WEARHOOK_DB!, "SELECT started_at, finished_at FROM reconcile_passes WHERE status = 'done' ORDER BY started_at");
  for (let i = 1; i < passes.length; i++) expect(passes[i]!.started_at >= passes[i - 1]!.finished_at, `pass ${i} overlaps the one before`).toBe(true);
}
