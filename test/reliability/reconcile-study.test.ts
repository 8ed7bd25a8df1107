import { afterAll, describe, expect, it } from 'vitest';
import { expectStudyComplete, runStudySim, type StudySimResult } from '../helpers/study-sim.js';
import { record, SEED } from './report.js';

/**
 * Issue #17's study at a larger size than `npm test` runs it: 6 participants x 45 days, two
 * `listen` processes sharing the database behind a load balancer (each notification goes to one
 * of those up), each killed (SIGKILL) several times, once both at once; two rings offline for
 * days; a lossy sender (15% dropped, 10% repeated, 10% early) and revisions never notified.
 * Every document must be exported once, within one reconciliation interval of the last, with
 * the exact count of what only reconciliation found; passes of the two never at once.
 */
describe('a long lossy study with two receivers, reconciled while listening', () => {
  let sim: StudySimResult | undefined;
  afterAll(async () => {
    await sim?.close();
  });

  it('exports every document once and accounts for what the webhooks missed', async () => {
    const intervalMs = 2_000;
    sim = await runStudySim({
      users: 6,
      days: 45,
      tickMs: 200,
      drop: 0.15,
      repeat: 0.1,
      early: 0.1,
      receivers: 2,
      outages: [
        { day: 5, days: 3, receiver: 0 },
        { day: 9, days: 2, receiver: 1 },
        { day: 16, days: 4, receiver: 0 },
        { day: 17, days: 2, receiver: 1 },
        { day: 27, days: 2, receiver: 0 },
        { day: 33, days: 3, receiver: 1 },
        { day: 38, days: 2, receiver: 0 },
      ],
      ringOffline: { user: 3, from: 12, to: 21, syncDay: 24 },
      reviseLastDays: 6,
      interval: '2s',
      intervalMs,
      reconcileDays: 5,
      seed: SEED,
    });
    expect(sim.documents).toHaveLength(6 * 45 * 3);
    await expectStudyComplete(sim, intervalMs);
    const unnotified = sim.documents.filter((d) => !d.notified).length;
    const passes = sim.lines().filter((l) => l.type === 'reconcile-pass');
    record(
      'reconcile-study',
      {
        documents: sim.documents.length,
        found_only_by_reconciliation: unnotified,
        ...sim.counts,
        passes_done: passes.filter((l) => l.state === 'done').length,
        passes_skipped: passes.filter((l) => l.state === 'skipped').length,
      },
      { deliveries: sim.counts.notifications, kills: sim.counts.kills },
    );
  });
});
