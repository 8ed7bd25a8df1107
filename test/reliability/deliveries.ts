import { request } from 'undici';
import { expect } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { buildPayload } from '../../src/trigger/payloads.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { waitUntil } from '../helpers/receiver.js';
import { ouraHeaders, standardHeaders, TEST_SECRETS } from '../helpers/signing.js';

/**
 * Deliveries as the senders make them, signed at each attempt (a retry carries a fresh
 * timestamp but the same body and id, as Oura and Standard Webhooks senders retry).
 */
export interface Delivery {
  /** Unique per delivery: the Oura object id or the Standard Webhooks message id. */
  key: string;
  route: '/oura' | '/vital' | '/standard';
  body: string;
  headers(): Record<string, string>;
}

export const OURA_USER = 'reliability-oura-user';

export function ouraNotification(objectId: string): Delivery {
  const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: objectId, event_time: '2026-03-02T07:45:00+00:00', user_id: OURA_USER });
  return { key: objectId, route: '/oura', body, headers: () => ouraHeaders(TEST_SECRETS.oura, body) };
}

/** A Vital sleep summary of its own user, so that each one normalises into its own document. */
export function vitalSleep(id: string, padding = 0): Delivery {
  const payload = buildPayload('vital', 'daily.data.sleep.created', { now: new Date('2026-03-02T08:00:00Z'), offsetMinutes: 60, userId: `vital-${id}` });
  const body = JSON.stringify(padding > 0 ? { ...(payload as object), padding: 'p'.repeat(padding) } : payload);
  return { key: id, route: '/vital', body, headers: () => standardHeaders(TEST_SECRETS.vital, id, body, { brand: 'svix' }) };
}

export function standardEvent(id: string, n: number): Delivery {
  const body = JSON.stringify({ type: 'reliability.test', timestamp: '2026-03-02T08:00:00Z', data: { user_id: 'standard-user', n } });
  return { key: id, route: '/standard', body, headers: () => standardHeaders(TEST_SECRETS.standard, id, body) };
}

/** The sleep document the Oura fake serves for a notification. */
export function sleepDocument(id: string) {
  return {
    id,
    day: '2026-03-02',
    type: 'long_sleep',
    bedtime_start: '2026-03-02T00:10:00+02:00',
    bedtime_end: '2026-03-02T07:40:00+02:00',
    total_sleep_duration: 25_200,
    average_hrv: 42,
    hrv: { interval: 300, items: [40, null, 44], timestamp: '2026-03-02T00:10:00.000+02:00' },
  };
}

export type Outcome = { status: number; id?: number; duplicate?: boolean } | { status: null; error: string };

export async function post(url: string, delivery: Delivery): Promise<Outcome> {
  try {
    const res = await request(`${url}${delivery.route}`, { method: 'POST', headers: delivery.headers(), body: delivery.body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      const answer = JSON.parse(text) as { id: number; duplicate: boolean };
      return { status: res.statusCode, id: answer.id, duplicate: answer.duplicate };
    }
    return { status: res.statusCode };
  } catch (err) {
    return { status: null, error: (err as Error).message };
  }
}

export interface StoredRow {
  id: number;
  body: Buffer;
  dedupe_key: string;
  status: string;
}

/** What the database holds, read in a connection of our own. */
export function storedRows(dbFile: string): StoredRow[] {
  const db = openDatabase(dbFile, { readonly: true });
  try {
    return db.prepare('SELECT id, body, dedupe_key, status FROM deliveries ORDER BY id').all() as StoredRow[];
  } finally {
    db.close();
  }
}

export function integrityCheck(dbFile: string): string {
  const db = openDatabase(dbFile, { readonly: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

export function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  return waitUntil(check, what, timeoutMs, 50);
}

export { holdingOuraProxy } from '../helpers/holding-proxy.js';

/** What a run of two receivers on one store did (sendThroughTwoReceivers). */
export interface SharedRun {
  /** Each delivery's key and the id its first 200 carried (every later 200 must carry the same). */
  acknowledged: Map<string, number>;
  counts: { attempts: number; refused_or_cut: number; kills: number };
  /** Every `listen` process started, the killed ones too. */
  processes: ListenProcess[];
  /** The two running at the end. */
  receivers: ListenProcess[];
}

export interface SharedRunOptions {
  /** The rest of `listen`'s environment: secrets, config folder. */
  env: Record<string, string>;
  deliveries: readonly Delivery[];
  /** Concurrent senders, spread round robin over the receivers that are up, as a load balancer would. */
  senders: number;
  /** Start both receivers at once (on an empty database: the schema is made once) rather than one after the other. */
  startTogether?: boolean;
  /** The `kill`-th SIGKILL (0-based): which receiver, after how many acknowledgements; undefined when done. */
  nextKill(kill: number, acknowledged: number): { which: 0 | 1; after: number } | undefined;
  killWaitMs?: number;
  /** Every process started is added here at once (for the test's cleanup, even when the run fails). */
  processes: ListenProcess[];
}

/**
 * Send every delivery through two `listen` processes on the store `storeUrl` names (a SQLite
 * file or a postgres:// URL), killing one with SIGKILL and restarting it whenever `nextKill`
 * says, until each delivery has been acknowledged (a refused or cut attempt is sent again).
 */
export async function sendThroughTwoReceivers(storeUrl: string, options: SharedRunOptions): Promise<SharedRun> {
  const env = { ...options.env, WEARHOOK_DB: storeUrl };
  const start = async () => {
    const p = await startListen(env);
    options.processes.push(p);
    return p;
  };
  const receivers: (ListenProcess | null)[] = options.startTogether ? await Promise.all([start(), start()]) : [await start(), await start()];
  const acknowledged = new Map<string, number>();
  const counts = { attempts: 0, refused_or_cut: 0, kills: 0 };
  const queue = [...options.deliveries];

  const sender = async (n: number) => {
    for (let turn = n; ; turn++) {
      const delivery = queue.shift();
      if (!delivery) return;
      const up = receivers.filter((r): r is ListenProcess => r !== null);
      const target = up[turn % up.length];
      counts.attempts++;
      const outcome = target ? await post(target.url, delivery) : { status: null, error: 'none up' };
      if (outcome.status === 200 && 'id' in outcome) {
        const first = acknowledged.get(delivery.key);
        if (first !== undefined) expect(outcome.id).toBe(first);
        else acknowledged.set(delivery.key, outcome.id!);
      } else {
        counts.refused_or_cut++;
        queue.push(delivery);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const senders = Promise.all(Array.from({ length: options.senders }, (_, n) => sender(n)));
  for (let kill = 0; queue.length > 0; kill++) {
    const next = options.nextKill(kill, acknowledged.size);
    if (!next) break;
    await waitFor(() => acknowledged.size >= next.after || queue.length === 0, `${next.after} acknowledgements`, options.killWaitMs);
    const victim = receivers[next.which]!;
    receivers[next.which] = null;
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    counts.kills++;
    receivers[next.which] = await start();
  }
  await senders;
  return { acknowledged, counts, processes: options.processes, receivers: receivers as ListenProcess[] };
}

/**
 * Each delivery's work recorded by one process only: the deliveries with a `processed` line,
 * those with more than one (`twice`, must be none), and results refused for a lost claim (`lost`, none).
 */
export function processedOnce(processes: readonly ListenProcess[]): { processed: Map<number, number>; twice: [number, number][]; lost: Record<string, unknown>[] } {
  const processed = new Map<number, number>();
  for (const p of processes) for (const line of p.lines()) if (line.type === 'work' && line.status === 'processed') processed.set(line.id as number, (processed.get(line.id as number) ?? 0) + 1);
  const twice = [...processed].filter(([, n]) => n > 1);
  const lost = processes.flatMap((p) => p.lines()).filter((l) => l.type === 'error' && /no longer claimed/.test(String(l.message)));
  return { processed, twice, lost };
}
