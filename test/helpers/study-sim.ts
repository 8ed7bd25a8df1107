import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { openDatabase } from '../../src/store/db.js';
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
  /** Days on which `listen` is killed, and for how many days it stays down. */
  outages: { day: number; days: number }[];
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
  /** The listen still running, and every NDJSON line of every listen of the run. */
  listen: ListenProcess;
  lines(): Record<string, unknown>[];
  /** stderr of every listen of the run, in order. */
  stderr(): string;
  counts: { notifications: number; dropped: number; repeated: number; early: number; lost: number; revised: number };
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
    WEARHOOK_DB: path.join(dir, 'wearhook.db'),
  };
  const users = Array.from({ length: options.users }, (_, i) => `sim-user-${i + 1}`);
  for (const [i, userId] of users.entries()) {
    await seedOuraUser(oura, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId, label: `P${String(i + 1).padStart(3, '0')}` });
  }
  const today = new Date().toISOString().slice(0, 10);
  const firstDay = addDays(today, -(options.days - 1));
  // The participants enrolled (authorised) when the study began, its first simulated day.
  const db = openDatabase(env.WEARHOOK_DB!);
  db.prepare("UPDATE users SET created_at = ? WHERE provider = 'oura'").run(`${firstDay}T08:00:00.000Z`);
  db.close();
  const args = ['--reconcile', '--reconcile-interval', options.interval, '--reconcile-days', String(options.reconcileDays), '--data-type', SIM_TYPES.join(','), ...(options.listenArgs ?? [])];
  const processes: ListenProcess[] = [];
  const start = async () => {
    const started = await startListen(env, args);
    processes.push(started);
    return started;
  };

  let listen: ListenProcess | undefined = await start();
  let url = listen.url;
  const documents = new Map<string, SimDocument>();
  const counts = { notifications: 0, dropped: 0, repeated: 0, early: 0, lost: 0, revised: 0 };
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
  /** One notification as Oura sends it; true when wearhook answered 2xx. */
  const notify = async (userId: string, type: SimType, id: string, event: 'create' | 'update'): Promise<boolean> => {
    counts.notifications++;
    if (!listen) {
      counts.lost++;
      return false;
    }
    const body = JSON.stringify({ event_type: event, data_type: type, object_id: id, event_time: new Date().toISOString(), user_id: userId });
    try {
      const res = await request(`${url}/oura`, { method: 'POST', headers: ouraHeaders(oura.clientSecret, body), body });
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
    const outage = options.outages.find((o) => o.day === tick);
    if (outage && listen) {
      // Killed between deliveries: each notification sent so far was answered, or refused.
      await Promise.all(pending);
      await listen.stop('SIGKILL');
      listen = undefined;
    }
    const back = options.outages.find((o) => o.day + o.days === tick);
    if (back && !listen) {
      listen = await start();
      url = listen.url;
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
  if (!listen) {
    listen = await start();
    url = listen.url;
  }
  await Promise.all(pending);
  const running = listen;
  return {
    dir,
    env,
    oura,
    documents: [...documents.values()],
    lastDocumentAt,
    listen: running,
    lines: () => processes.flatMap((p) => p.lines()),
    stderr: () => processes.map((p, i) => `--- listen ${i + 1}\n${p.stderr()}`).join('\n'),
    counts,
    close: async () => {
      await running.stop('SIGKILL');
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
