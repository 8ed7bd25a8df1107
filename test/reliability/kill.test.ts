import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake, type OuraFake } from '../helpers/oura-fake.js';
import { seedOuraUser } from '../helpers/oura-user.js';
import { TEST_SECRETS } from '../helpers/signing.js';
import { integrityCheck, ouraNotification, OURA_USER, post, sleepDocument, standardEvent, storedRows, vitalSleep, waitFor, type Delivery } from './deliveries.js';
import { random, record, SEED } from './report.js';

/**
 * SIGKILL of the receiver under load, again and again. Senders keep sending unique signed
 * deliveries from many connections and retry whatever was not acknowledged (as Oura and
 * Standard Webhooks senders do); the receiver is killed at random points and restarted on
 * the same database. Afterwards every acknowledged delivery must be there, byte for byte,
 * each stored once, and every Oura fetch and normalisation completed.
 */

const KILLS = 25;
const DELIVERIES = 6_000;
const SENDERS = 16;

let fake: OuraFake | undefined;
let listener: ListenProcess | undefined;
let dir: string | undefined;
afterAll(async () => {
  await listener?.stop('SIGKILL');
  await fake?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('SIGKILL under load, repeated', () => {
  it('loses no acknowledged delivery, stores each once, and finishes all work after the last restart', async () => {
    const rng = random(SEED);
    fake = await startOuraFake();
    dir = tempDir('wearhook-kill-');
    const env = {
      ...fake.env(),
      OURA_CLIENT_SECRET: TEST_SECRETS.oura,
      WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
      WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard,
      WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
      WEARHOOK_DB: path.join(dir, 'wearhook.db'),
    };
    await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR, dbPath: env.WEARHOOK_DB, userId: OURA_USER });

    const deliveries: Delivery[] = Array.from({ length: DELIVERIES }, (_, i) => {
      if (i % 3 === 0) return ouraNotification(`sleep-${i}`);
      if (i % 3 === 1) return vitalSleep(`msg_vital_${i}`);
      return standardEvent(`msg_standard_${i}`, i);
    });
    fake.addDocuments(OURA_USER, 'sleep', deliveries.filter((d) => d.route === '/oura').map((d) => sleepDocument(d.key)));

    /** The id each delivery was first acknowledged with, and every acknowledgement seen. */
    const acknowledged = new Map<string, number>();
    const counts = { attempts: 0, acknowledged: 0, duplicates_answered: 0, refused_or_cut: 0, kills: 0, restarts: 0 };
    const queue = [...deliveries];
    let url: string | null = null;
    let up: Promise<void> = new Promise(() => {});
    let wake = () => {};
    let ackedThisRound = 0;

    const sender = async () => {
      for (;;) {
        const delivery = queue.shift();
        if (!delivery) return;
        while (url === null) await up;
        counts.attempts++;
        const outcome = await post(url, delivery);
        if (outcome.status === 200 && 'id' in outcome) {
          counts.acknowledged++;
          ackedThisRound++;
          if (outcome.duplicate) counts.duplicates_answered++;
          const first = acknowledged.get(delivery.key);
          // A retry of something already committed must come back as that same row.
          if (first !== undefined) expect(outcome.id, `${delivery.key} acknowledged twice with different ids`).toBe(first);
          else acknowledged.set(delivery.key, outcome.id!);
        } else {
          // Refused or cut by the kill: the sender tries again later.
          counts.refused_or_cut++;
          if (outcome.status !== null) expect(outcome.status, `unexpected answer for ${delivery.key}`).toBeGreaterThanOrEqual(500);
          queue.push(delivery);
          if (url === null) await up;
        }
      }
    };

    const start = async () => {
      listener = await startListen(env);
      counts.restarts++;
      url = listener.url;
      ackedThisRound = 0;
      wake();
    };
    const markDown = () => {
      url = null;
      up = new Promise((resolve) => (wake = resolve));
    };

    markDown();
    const senders = Promise.all(Array.from({ length: SENDERS }, sender));
    for (let kill = 0; kill < KILLS; kill++) {
      await start();
      // Kill at a random point: sometimes while it is still resuming the previous run's work.
      const after = rng.int(0, 400);
      await waitFor(() => ackedThisRound >= after || queue.length === 0, `${after} acknowledgements`);
      markDown();
      listener!.child.kill('SIGKILL');
      expect(await listener!.exited).toBe('SIGKILL');
      counts.kills++;
      // Right after each crash: everything acknowledged so far is committed.
      const stored = new Map(storedRows(env.WEARHOOK_DB).map((r) => [r.id, r]));
      for (const [key, id] of acknowledged) expect(stored.has(id), `acknowledged ${key} (#${id}) missing after kill ${kill + 1}`).toBe(true);
    }
    await start();
    await senders;
    expect(acknowledged.size).toBe(DELIVERIES);

    // Every delivery stored exactly once, with the exact bytes sent, under the id it was acknowledged with.
    const rows = storedRows(env.WEARHOOK_DB);
    expect(rows).toHaveLength(DELIVERIES);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const delivery of deliveries) {
      const row = byId.get(acknowledged.get(delivery.key)!);
      expect(row?.body.toString('utf8'), delivery.key).toBe(delivery.body);
    }

    // The work that kills interrupted resumes: every Oura fetch and every normalisation is done.
    await waitFor(() => storedRows(env.WEARHOOK_DB).every((r) => r.status === 'processed'), 'all deliveries processed', 120_000);
    expect(await listener!.stop('SIGTERM')).toBe(0);
    expect(integrityCheck(env.WEARHOOK_DB)).toBe('ok');
    const ouraDocuments = fake.requestsTo('/v2/usercollection/sleep/').filter((r) => r.status === 200).length;
    expect(ouraDocuments).toBeGreaterThanOrEqual(DELIVERIES / 3);

    record('sigkill', {
      seed: SEED,
      deliveries: DELIVERIES,
      senders: SENDERS,
      kills: counts.kills,
      restarts: counts.restarts,
      attempts: counts.attempts,
      acknowledged: counts.acknowledged,
      retried_after_refusal_or_cut: counts.refused_or_cut,
      acknowledged_again_as_duplicate: counts.duplicates_answered,
      stored_once: rows.length,
      lost: 0,
      oura_documents_fetched: ouraDocuments,
    }, { deliveries: DELIVERIES, kills: counts.kills });
  });
});
