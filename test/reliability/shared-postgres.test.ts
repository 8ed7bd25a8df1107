import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { ListenProcess } from '../helpers/listen-process.js';
import { startPostgresServer, type PostgresServer } from '../helpers/postgres-server.js';
import { TEST_SECRETS } from '../helpers/signing.js';
import { processedOnce, sendThroughTwoReceivers, standardEvent, vitalSleep, waitFor, type Delivery } from './deliveries.js';
import { random, record, SEED } from './report.js';

/**
 * Two `listen --db postgres://...` processes on one PostgreSQL database, as behind a load
 * balancer; one of them is SIGKILLed twice mid-run and restarted. Every acknowledged delivery
 * must be stored exactly once and its work done by exactly one process: the unique dedupe
 * key, the acknowledgement after COMMIT, and claims taken with FOR UPDATE SKIP LOCKED.
 */

const DELIVERIES = 3_000;
const KILLS = 2;
const SENDERS = 16;

let server: PostgresServer | undefined;
const processes: ListenProcess[] = [];
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await server?.stop();
});

async function query<Row extends pg.QueryResultRow>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('two receivers on one PostgreSQL database under SIGKILL', () => {
  it('stores every acknowledged delivery once and does the work of each in exactly one process', async () => {
    const rng = random(SEED + 16);
    server = await startPostgresServer({ fsync: true });
    const url = await server.createDatabase('wearhook_shared');
    const env = { WEARHOOK_DB: url, WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital, WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard };
    const deliveries: Delivery[] = Array.from({ length: DELIVERIES }, (_, i) => (i % 2 === 0 ? vitalSleep(`msg_pg_${i}`) : standardEvent(`msg_pg_${i}`, i)));

    // The same receiver is killed twice, at random points of the run. Both start on an empty
    // database at once: the schema is created once, under the advisory lock.
    const which = rng.int(0, 1) as 0 | 1;
    const { acknowledged, counts, receivers } = await sendThroughTwoReceivers(url, {
      env,
      deliveries,
      senders: SENDERS,
      processes,
      startTogether: true,
      killWaitMs: 120_000,
      nextKill: (kill) => (kill < KILLS ? { which, after: Math.floor((DELIVERIES * (kill + 1)) / (KILLS + 1)) + rng.int(-100, 100) } : undefined),
    });
    expect(acknowledged.size).toBe(DELIVERIES);

    await waitFor(
      async () => (await query<{ n: string }>(url, "SELECT count(*) AS n FROM deliveries WHERE status <> 'processed'"))[0]!.n === '0',
      'all work done',
      120_000,
    );
    // Stored exactly once: one row per acknowledged delivery, each with the id it was acknowledged with.
    const rows = await query<{ id: string; dedupe_key: string; status: string }>(url, 'SELECT id, dedupe_key, status FROM deliveries ORDER BY id');
    expect(rows).toHaveLength(DELIVERIES);
    const idOfKey = new Map(rows.map((r) => [r.dedupe_key.replace(/^[a-z-]+:/, ''), Number(r.id)]));
    for (const [key, id] of acknowledged) expect(idOfKey.get(key), key).toBe(id);
    // Every Vital sleep became one document with one version.
    const versions = await query<{ n: string }>(url, "SELECT count(*) AS n FROM document_versions WHERE provider = 'vital'");
    expect(Number(versions[0]!.n)).toBe(DELIVERIES / 2);

    // Processed exactly once: never two "processed" lines for one delivery, and no result refused for a lost claim.
    const { processed, twice, lost } = processedOnce(processes);
    expect(twice).toEqual([]);
    expect(lost).toEqual([]);
    expect(processed.size).toBeGreaterThanOrEqual(DELIVERIES - counts.kills * 130);
    await Promise.all(receivers.map((r) => r.stop('SIGTERM')));
    const claims = await query<{ n: string }>(url, 'SELECT count(*) AS n FROM deliveries WHERE claim_owner IS NOT NULL');
    expect(claims[0]!.n).toBe('0');

    record('shared_postgres', {
      seed: SEED + 16,
      receivers: 2,
      deliveries: DELIVERIES,
      kills: counts.kills,
      processes_started: processes.length,
      attempts: counts.attempts,
      retried_after_refusal_or_cut: counts.refused_or_cut,
      deliveries_with_a_processed_line: processed.size,
      processed_by_two_processes: twice.length,
    }, { deliveries: DELIVERIES, kills: counts.kills });
  });
});
