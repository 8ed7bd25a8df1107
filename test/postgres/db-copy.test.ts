import path from 'node:path';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openDatabase, type DB } from '../../src/store/db.js';
import { insertDelivery } from '../../src/store/deliveries.js';
import { storeDocument, upsertDocument } from '../../src/store/documents.js';
import { upsertSamples } from '../../src/store/samples.js';
import { upsertUser } from '../../src/store/users.js';
import { insertParticipant } from '../../src/store/participants.js';
import { addPendingVerificationToken, upsertSubscription } from '../../src/store/subscriptions.js';
import { recordSyncRunType, startSyncRun } from '../../src/store/sync-runs.js';
import { schemaTables } from '../../src/store/copy.js';
import { openStore } from '../../src/store/open.js';
import { storeLocation } from '../../src/store/location.js';
import { all } from '../../src/store/sql.js';
import { runCli, tempDir } from '../helpers/cli.js';
import { adminQuery, newPostgresDatabase, postgresServer } from '../helpers/postgres.js';

/** A small but complete store: a row in every table, several versions of a document, a body that is not UTF-8. */
function seed(db: DB): void {
  const delivery = insertDelivery(db, {
    provider: 'vital',
    receivedAt: new Date('2026-03-01T08:00:00.000Z'),
    method: 'POST',
    path: '/vital',
    headers: [['svix-id', 'msg_1'], ['Content-Type', 'application/json']],
    body: Buffer.from([0x7b, 0xff, 0x00, 0x7d]),
    dedupeKey: 'vital:msg_1',
    eventType: 'daily.data.sleep.created',
    userId: 'user-B',
  });
  insertDelivery(db, {
    provider: 'oura',
    receivedAt: new Date('2026-03-01T08:00:01.000Z'),
    method: 'POST',
    path: '/oura',
    headers: [],
    body: Buffer.from('{"event_type":"update"}'),
    dedupeKey: 'oura:1',
    eventType: 'update.sleep',
    userId: 'user-a',
    claim: { owner: 'host/1/abc', until: 2 ** 41 },
  });
  const doc = { provider: 'vital', type: 'sleep', id: 'sleep-1', userId: 'user-B', day: '2026-03-01', startTime: '2026-02-28T23:00:00+01:00', endTime: '2026-03-01T07:00:00+01:00' };
  db.transaction(() => {
    storeDocument(db, { ...doc, data: { score: 1 }, order: { rank: 0, atMs: 1_000 } }, { source: 'webhook', retrievedAt: new Date('2026-03-01T08:00:00Z'), deliveryId: delivery.id });
    storeDocument(db, { ...doc, data: { score: 2 }, order: { rank: 1, atMs: 2_000 } }, { source: 'webhook', retrievedAt: new Date('2026-03-01T09:00:00Z'), deliveryId: delivery.id });
    storeDocument(db, { ...doc, data: { score: 0 }, order: { rank: 0, atMs: 500 } }, { source: 'webhook', retrievedAt: new Date('2026-03-01T10:00:00Z') });
  })();
  upsertDocument(db, { provider: 'oura', type: 'daily_readiness', id: 'r-1', userId: 'user-a', day: '2026-03-01', data: { score: 80, note: 'ünïcødé ✓' } });
  upsertSamples(db, [
    { provider: 'open-wearables', userId: 'user-a', seriesType: 'heart_rate_variability_rmssd', timestamp: '2026-03-01T01:00:00+01:00', day: '2026-03-01', value: 41.25, unit: 'ms' },
    { provider: 'open-wearables', userId: 'user-a', seriesType: 'heart_rate_variability_rmssd', timestamp: '2026-03-01T01:05:00+01:00', day: '2026-03-01', value: null },
  ], { source: 'webhook', retrievedAt: new Date('2026-03-01T08:00:00Z') });
  insertParticipant(db, 'P-empty', { tz: 'Europe/Amsterdam', startDay: '2026-03-01' });
  upsertUser(db, { provider: 'oura', userId: 'user-a', label: 'P001', scopes: 'daily heartrate', tokenExpiresAt: '2026-03-02T00:00:00Z' });
  upsertSubscription(db, { id: 'sub-1', callback_url: 'https://example.org/oura', event_type: 'update', data_type: 'sleep', expiration_time: '2026-04-01T00:00:00Z' }, { tokenSha256: 'ab'.repeat(32), createdByWearhook: true });
  addPendingVerificationToken(db, { tokenSha256: 'cd'.repeat(32), callbackUrl: 'https://example.org/oura', eventType: 'create', dataType: 'sleep' }, new Date());
  const run = startSyncRun(db, { provider: 'oura', kind: 'sync', userId: 'user-a', types: ['sleep'], from: '2026-03-01', to: '2026-03-02' });
  recordSyncRunType(db, run.id, 'sleep', { listed: 3, new: 1, updated: 1, unchanged: 1, older: 0, superseded: 0 }, { complete: true, error: null });
  // The outbox, enrolment and reconciliation tables (schema 9-11), written as their modules write them.
  db.exec(`
    INSERT INTO outbox_targets (id, kind, target, filter, cursor, created_at) VALUES (1, 'forward', 'http://127.0.0.1:9/app', NULL, ${delivery.id}, '2026-03-01T08:00:00.000Z');
    INSERT INTO outbox (target_id, delivery_id, status, attempts, last_code, next_attempt_at, created_at) VALUES (1, ${delivery.id}, 'pending', 1, 503, ${2 ** 41}, '2026-03-01T08:00:00.000Z');
    INSERT INTO outbox_attempts (outbox_id, attempt, at, duration_ms, code) VALUES (1, 1, '2026-03-01T08:00:01.000Z', 12, 503);
    INSERT INTO enrolment_invites (token_sha256, label, created_at, expires_at) VALUES ('${'ef'.repeat(32)}', 'P001', '2026-03-01T08:00:00.000Z', '2026-03-08T08:00:00.000Z');
    INSERT INTO listen_public_urls (public_url, pid, host, started_at, updated_at) VALUES ('https://example.org', 42, 'host', 'a', 'b');
    INSERT INTO leases (name, owner, until, acquired_at) VALUES ('reconcile:oura', 'host/1/abc', ${2 ** 41}, ${2 ** 40});
    INSERT INTO reconcile_passes (provider, reason, owner, types, started_at, status) VALUES ('oura', 'start', 'host/1/abc', '["sleep"]', 'a', 'done');
  `);
}

/** Every row of every table, in key order, as JSON-comparable values. */
async function contents(location: string): Promise<Record<string, unknown[]>> {
  const store = await openStore(storeLocation(location));
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of schemaTables()) {
      const rows = await store.read(() => all<Record<string, unknown>>(`SELECT ${t.columns.join(', ')} FROM ${t.name} ORDER BY ${t.key.join(', ') || t.columns.join(', ')}`));
      out[t.name] = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Buffer.isBuffer(v) ? `bytes:${v.toString('hex')}` : v])));
    }
    return out;
  } finally {
    await store.close();
  }
}

describe('wearhook db copy', () => {
  it('moves a SQLite file into PostgreSQL and back with every row, id and version, and refuses a target that holds data', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'study.db');
    const db = openDatabase(file);
    seed(db);
    db.close();
    const original = await contents(file);
    // The seed reaches every table this test knows of; a table added later must keep its rows too (compared below).
    for (const table of ['deliveries', 'documents', 'document_versions', 'samples', 'users', 'participants', 'participant_accounts', 'subscriptions', 'pending_verification_tokens', 'sync_runs', 'sync_run_types', 'outbox_targets', 'outbox', 'outbox_attempts', 'enrolment_invites', 'listen_public_urls', 'leases', 'reconcile_passes']) {
      expect(original[table]!.length, table).toBeGreaterThan(0);
    }
    expect(original.document_versions).toHaveLength(4);

    const url = await newPostgresDatabase({ migrated: false });
    const { password } = postgresServer();
    const copied = await runCli(['db', 'copy', '--from', file, '--to', url, '--json']);
    expect(copied.stderr).not.toContain(password);
    expect(copied.code, copied.stderr).toBe(0);
    const result = JSON.parse(copied.stdout) as { from: string; to: string; tables: Record<string, number> };
    expect(result.to).toBe(url.replace(password, '****'));
    expect(result.tables).toMatchObject({ deliveries: 2, document_versions: 4, samples: 2, participants: 2, outbox: 1 });
    expect(await contents(url)).toEqual(original);

    // New rows are numbered after the copied ones.
    const [next] = await adminQuery<{ id: number }>(
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key) VALUES ('oura', 'x', 'POST', '/oura', '[]', '', 1, 'new') RETURNING id`,
      [],
      url,
    );
    expect(Number(next!.id)).toBe(3);

    // A target with data is refused, and left as it was.
    const again = await runCli(['db', 'copy', '--from', file, '--to', url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${url.replace(password, '****')} already holds data (3 deliveries, 4 document_versions`);
    expect(again.stderr).not.toContain(password);

    // And back: a new file equal to the original, table for table (the delivery added meanwhile too).
    const back = path.join(dir, 'back.db');
    const returned = await runCli(['db', 'copy', '--from', url, '--to', back]);
    expect(returned.code, returned.stderr).toBe(0);
    expect(returned.stdout).toMatch(/^copied \d+ rows in \d+ tables from postgres:\/\/wearhook:\*\*\*\*@127\.0\.0\.1:\d+\/t_\w+ to .*back\.db \(schema \d+\)/);
    const roundTrip = await contents(back);
    expect(roundTrip.deliveries).toHaveLength(3);
    expect({ ...roundTrip, deliveries: roundTrip.deliveries!.slice(0, 2) }).toEqual(original);
    expect(fs.statSync(back).mode & 0o777).toBe(0o600);
  });

  it('copies all or nothing: a row PostgreSQL cannot hold leaves the target empty, with the table named', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'nul.db');
    const db = openDatabase(file);
    seed(db);
    // The last table copied holds text PostgreSQL refuses (a NUL character).
    db.prepare('UPDATE users SET last_error = ?').run('bad\u0000text');
    db.close();
    const url = await newPostgresDatabase({ migrated: false });
    const failed = await runCli(['db', 'copy', '--from', file, '--to', url]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/Copying users into postgres:\/\/wearhook:\*\*\*\*@.* failed: .*0x00/);
    const counts = await adminQuery<{ n: number }>(`SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM documents) + (SELECT count(*) FROM samples) AS n`, [], url);
    expect(Number(counts[0]!.n)).toBe(0);

    const missing = await runCli(['db', 'copy', '--from', path.join(dir, 'nope.db'), '--to', url]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('There is no database');
    expect(fs.existsSync(path.join(dir, 'nope.db'))).toBe(false);

    // The empty database is usable as it is (no SQLite file named like the URL is made), and its password is never shown.
    const { password } = postgresServer();
    const elsewhere = await runCli(['events', 'coverage'], { cwd: dir, env: { WEARHOOK_DB: url } });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stdout).toContain('No documents are stored');
    expect(elsewhere.stderr + elsewhere.stdout).not.toContain(password);
    expect(fs.readdirSync(dir).sort()).toEqual(['nul.db']);
  });
});
