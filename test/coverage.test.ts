import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../src/store/db.js';
import { upsertUser } from '../src/store/users.js';
import { storeDocument } from '../src/store/documents.js';
import { startSyncRun } from '../src/store/sync-runs.js';
import { finishPass, startPass } from '../src/store/reconcile.js';
import { insertDelivery } from '../src/store/deliveries.js';
import { ouraDocumentInput } from '../src/providers/oura/documents.js';
import { arrivalsByDayOp } from '../src/sync/coverage.js';
import { runCli, tempDir } from './helpers/cli.js';
import { runOp, testDatabase } from './helpers/engine.js';

/**
 * Gap accounting (`wearhook events coverage`, and the report's arrivals per day): how each
 * document arrived, on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */

const TYPES = ['sleep', 'daily_readiness', 'daily_activity'];
const AT = new Date('2026-03-10T08:00:00Z');

/**
 * One Oura account of P001 whose documents came every way there is, and an account of nobody's
 * that only a sync found; a reconciliation pass that ran to its end.
 */
function seedArrivals(db: DB): void {
  upsertUser(db, { provider: 'oura', userId: 'u1', label: 'P001' });
  upsertUser(db, { provider: 'oura', userId: 'u2' });
  const run = (kind: string, userId = 'u1') => startSyncRun(db, { provider: 'oura', kind, userId, types: TYPES, from: '2026-03-01', to: '2026-03-10' }).id;
  const store = (id: string, day: string, provenance: Parameters<typeof storeDocument>[2], userId = 'u1') =>
    db.transaction(() => storeDocument(db, ouraDocumentInput('daily_readiness', userId, { id, day, score: 70 }, provenance.source), provenance)).immediate();
  const notification = (objectId: string, event: string) => {
    const body = Buffer.from(JSON.stringify({ event_type: event, data_type: 'daily_readiness', object_id: objectId, event_time: '2026-03-09T07:00:00+00:00', user_id: 'u1' }));
    return insertDelivery(db, { provider: 'oura', receivedAt: AT, method: 'POST', path: '/oura', headers: [], body, dedupeKey: `test:${objectId}:${event}`, eventType: `daily_readiness.${event}`, userId: 'u1' }).id;
  };
  const reconcile = run('reconcile');
  // Notified early (Oura answered 404), fetched meanwhile by a pass, then fetched unchanged by the retry.
  notification('early', 'create');
  // A delete of a document that only reconciliation found says nothing of how it arrived.
  notification('only-reconciled', 'delete');
  const delivered = notification('by-webhook', 'create');
  store('by-webhook', '2026-03-08', { source: 'webhook', retrievedAt: AT, deliveryId: delivered });
  store('only-reconciled', '2026-03-08', { source: 'sync', retrievedAt: AT, syncRunId: reconcile });
  store('caught-up', '2026-03-09', { source: 'sync', retrievedAt: AT, syncRunId: run('catch-up') });
  store('history', '2026-03-01', { source: 'sync', retrievedAt: AT, syncRunId: run('sync') });
  store('early', '2026-03-09', { source: 'sync', retrievedAt: AT, syncRunId: reconcile });
  store('nobodys', '2026-03-05', { source: 'sync', retrievedAt: AT, syncRunId: run('sync', 'u2') }, 'u2');
  const pass = startPass(db, { provider: 'oura', reason: 'interval', owner: 'test/1/a', types: TYPES }, new Date('2026-03-10T09:00:00Z'));
  finishPass(db, pass.id, 'done', { users: 1, failed: 0, listed: 5, new: 2, updated: 0 }, new Date('2026-03-10T09:01:00Z'));
}

let dir: string;
let db: string;
const coverage = async (...args: string[]) => {
  const res = await runCli(['--db', db, 'events', 'coverage', ...args], { env: { WEARHOOK_CONFIG_DIR: dir }, cwd: dir });
  expect(res.code, res.stderr).toBe(0);
  return res.stdout;
};

beforeAll(async () => {
  dir = tempDir('wearhook-coverage-');
  db = await testDatabase(dir, seedArrivals);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('gap accounting', () => {
  it('counts a document as webhook when its notification arrived, even if reconciliation fetched it first', async () => {
    const result = JSON.parse(await coverage('--json'));
    expect(result).toEqual({
      accounts: [
        {
          participant: 'P001', provider: 'oura', user_id: 'u1', documents: 5, webhook: 2, reconciliation: 2, sync: 1, webhook_share: 0.5,
          types: { daily_readiness: { documents: 5, webhook: 2, reconciliation: 2, sync: 1 } },
        },
        {
          participant: null, provider: 'oura', user_id: 'u2', documents: 1, webhook: 0, reconciliation: 0, sync: 1, webhook_share: null,
          types: { daily_readiness: { documents: 1, webhook: 0, reconciliation: 0, sync: 1 } },
        },
      ],
      totals: { documents: 6, webhook: 2, reconciliation: 2, sync: 2, webhook_share: 0.5 },
      last_reconcile: { started_at: '2026-03-10T09:00:00.000Z', finished_at: '2026-03-10T09:01:00.000Z', reason: 'interval', new: 2, updated: 0 },
    });
  });

  it('selects by document day and by participant, and prints the table', async () => {
    expect(JSON.parse(await coverage('--from', '2026-03-09', '--to', '2026-03-09', '--json')).totals).toEqual({ documents: 2, webhook: 1, reconciliation: 1, sync: 0, webhook_share: 0.5 });
    expect(JSON.parse(await coverage('--label', 'P001', '--json')).accounts.map((a: { user_id: string }) => a.user_id)).toEqual(['u1']);
    const table = await coverage();
    expect(table).toMatch(/^P001 \(u1\)\s+oura\s+daily_readiness\s+5\s+2\s+2\s+1\s+50%$/m);
    expect(table).toContain('last reconciliation: 2026-03-10T09:01:00.000Z (interval), 2 new and 0 updated documents found');
  });

  it('gives the report its arrivals per account and day', async () => {
    const days = await runOp(db, arrivalsByDayOp, {});
    expect(Object.fromEntries(days.get('oura\u0000u1')!)).toEqual({
      '2026-03-01': { documents: 1, webhook: 0, reconciliation: 0, sync: 1 },
      '2026-03-08': { documents: 2, webhook: 1, reconciliation: 1, sync: 0 },
      '2026-03-09': { documents: 2, webhook: 1, reconciliation: 1, sync: 0 },
    });
  });
});
