import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import type { ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake, type OuraFake } from '../helpers/oura-fake.js';
import { seedOuraUser } from '../helpers/oura-user.js';
import { TEST_SECRETS } from '../helpers/signing.js';
import { integrityCheck, ouraNotification, OURA_USER, processedOnce, sendThroughTwoReceivers, sleepDocument, storedRows, vitalSleep, waitFor, type Delivery } from './deliveries.js';
import { random, record, SEED } from './report.js';

/**
 * Two `listen` processes on one database, as behind a load balancer, each killed with SIGKILL
 * at random points and restarted. Every delivery must be stored once and its work (an Oura
 * fetch and store, a Vital normalisation) done by exactly one process: the work claims.
 */

const DELIVERIES = 3_000;
const KILLS = 10;
const SENDERS = 16;

let fake: OuraFake | undefined;
const processes: ListenProcess[] = [];
let dir: string | undefined;
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await fake?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('two receivers on one database under SIGKILL', () => {
  it('stores every delivery once and does the work of each in exactly one process', async () => {
    const rng = random(SEED + 2);
    fake = await startOuraFake();
    dir = tempDir('wearhook-shared-');
    const env = {
      ...fake.env(),
      OURA_CLIENT_SECRET: TEST_SECRETS.oura,
      WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
      WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
      WEARHOOK_DB: path.join(dir, 'wearhook.db'),
    };
    await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR, dbPath: env.WEARHOOK_DB, userId: OURA_USER });
    const deliveries: Delivery[] = Array.from({ length: DELIVERIES }, (_, i) => (i % 2 === 0 ? ouraNotification(`shared-${i}`) : vitalSleep(`msg_shared_${i}`)));
    fake.addDocuments(OURA_USER, 'sleep', deliveries.filter((d) => d.route === '/oura').map((d) => sleepDocument(d.key)));

    const { acknowledged, counts, receivers } = await sendThroughTwoReceivers(env.WEARHOOK_DB, {
      env,
      deliveries,
      senders: SENDERS,
      processes,
      nextKill: (kill, acknowledgedSoFar) => (kill < KILLS ? { which: rng.int(0, 1) as 0 | 1, after: acknowledgedSoFar + rng.int(10, 60) } : undefined),
    });
    expect(acknowledged.size).toBe(DELIVERIES);

    await waitFor(() => storedRows(env.WEARHOOK_DB).every((r) => r.status === 'processed'), 'all work done', 120_000);
    const rows = storedRows(env.WEARHOOK_DB);
    expect(rows).toHaveLength(DELIVERIES);

    // Each delivery's work was recorded by one process only: never two "processed" for one delivery,
    // and no process had a result thrown away because another had taken its delivery.
    const { processed, twice, lost } = processedOnce(processes);
    expect(twice).toEqual([]);
    expect(lost).toEqual([]);
    // A process killed between its commit and its line leaves a delivery without a line; only that.
    expect(processed.size).toBeGreaterThanOrEqual(DELIVERIES - counts.kills * 130);

    await Promise.all(receivers.map((r) => r.stop('SIGTERM')));
    expect(integrityCheck(env.WEARHOOK_DB)).toBe('ok');
    const fetches = new Map<string, number>();
    for (const r of fake.requestsTo('/v2/usercollection/sleep/')) fetches.set(r.path, (fetches.get(r.path) ?? 0) + 1);

    record('shared_database', {
      seed: SEED + 2,
      receivers: 2,
      deliveries: DELIVERIES,
      kills: counts.kills,
      processes_started: processes.length,
      attempts: counts.attempts,
      retried_after_refusal_or_cut: counts.refused_or_cut,
      deliveries_with_a_processed_line: processed.size,
      processed_by_two_processes: twice.length,
      oura_documents_fetched_more_than_once: [...fetches.values()].filter((n) => n > 1).length,
    }, { deliveries: DELIVERIES, kills: counts.kills });
  });
});
