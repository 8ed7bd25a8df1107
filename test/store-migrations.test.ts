import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { runCli, tempDir } from './helpers/cli.js';
import { send, startTestReceiver } from './helpers/receiver.js';
import { ouraHeaders, TEST_SECRETS } from './helpers/signing.js';
import { createHash } from 'node:crypto';
import { ouraReadiness, ouraSleep, owSleep, OURA_USER, OW_USER, vitalSleep, VITAL_USER } from './fixtures/documents.js';
import { onPostgres } from './helpers/engine.js';

// Upgrades of old SQLite files, their mode and WAL: SQLite's alone (PostgreSQL's migrations are tested in test/postgres/store.test.ts).

describe.skipIf(onPostgres)('store migrations', () => {
  it('upgrades a first-schema file in place and keeps its rows', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'old.db');
    const old = openDatabase(file, { migrateTo: 1 });
    expect(schemaVersion(old)).toBe(1);
    old.prepare('INSERT INTO users (provider, user_id, label, scopes, created_at) VALUES (?, ?, ?, ?, ?)').run('oura', OURA_USER, 'P007', 'daily', '2026-01-01T00:00:00Z');
    old.prepare('INSERT INTO documents (provider, type, id, user_id, day, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      'oura', 'daily_readiness', ouraReadiness.id, OURA_USER, ouraReadiness.day, JSON.stringify(ouraReadiness), '2026-03-02T08:00:00Z',
    );
    old.prepare(
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, status)
       VALUES ('vital', '2026-03-02T08:00:00Z', 'POST', '/vital', '[]', ?, 1, 'vital:msg_1', 'processed')`,
    ).run(Buffer.from('{"event_type":"daily.data.sleep.created"}'));
    old.close();

    // The CLI opens the old file, migrates it, and exports what was there before.
    const res = await runCli(['--db', file, 'export', '--from', '2026-03-02', '--to', '2026-03-02', '--type', 'readiness', '--format', 'json'], {
      env: { WEARHOOK_CONFIG_DIR: dir },
    });
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: OURA_USER, score: ouraReadiness.score, source_id: ouraReadiness.id, label: 'P007' });

    const upgraded = openDatabase(file);
    expect(schemaVersion(upgraded)).toBe(SCHEMA_VERSION);
    const delivery = upgraded.prepare('SELECT body FROM deliveries WHERE dedupe_key = ?').get('vital:msg_1') as { body: Buffer };
    expect(delivery.body.toString()).toBe('{"event_type":"daily.data.sleep.created"}');
    const doc = upgraded.prepare('SELECT deleted, start_time FROM documents').get() as { deleted: number; start_time: string | null };
    expect(doc).toEqual({ deleted: 0, start_time: null });
    upgraded.close();
  });

  it('upgrades a schema-4 file: every document becomes its first version, days cut from UTC strings are recomputed, nothing is lost', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'v4.db');
    const old = openDatabase(file, { migrateTo: 4 });
    // A Vital sleep of a New York night without calendar_date: wearhook 4 cut its day from the UTC string.
    const nyNight = { ...vitalSleep, id: 'vs-ny', calendar_date: undefined, bedtime_start: '2026-03-02T19:30:00+00:00', bedtime_stop: '2026-03-03T02:00:00+00:00', timezone_offset: -18000 };
    const docs: [string, string, string, string, string | null, unknown][] = [
      ['oura', 'sleep', ouraSleep.id, OURA_USER, ouraSleep.day, ouraSleep],
      ['vital', 'sleep', nyNight.id, VITAL_USER, '2026-03-03', nyNight],
      ['open-wearables', 'sleep', owSleep.id, OW_USER, '2026-03-02', owSleep],
    ];
    const insert = old.prepare(
      `INSERT INTO documents (provider, type, id, user_id, day, start_time, end_time, data, updated_at, deleted, source) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, '2026-03-03T08:00:00.000Z', 0, ?)`,
    );
    for (const [provider, type, id, user, day, data] of docs) insert.run(provider, type, id, user, day, null, JSON.stringify(data), provider === 'oura' ? 'sync' : 'webhook');
    old.prepare(`UPDATE documents SET start_time = ?, end_time = ? WHERE id = ?`).run(owSleep.start_time, owSleep.end_time, owSleep.id);
    old.prepare(
      `INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value, unit, source_id) VALUES ('open-wearables', ?, 'heart_rate_variability_rmssd', ?, ?, '2026-03-02', 41, 'ms', 'b1')`,
    ).run(OW_USER, Date.parse('2026-03-02T02:00:00-05:00'), '2026-03-02T02:00:00-05:00');
    old.prepare('INSERT INTO users (provider, user_id, label, scopes, created_at) VALUES (?, ?, ?, ?, ?)').run('oura', OURA_USER, 'P007', 'daily', '2026-01-01T00:00:00Z');
    old.prepare(
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, status) VALUES ('vital', '2026-03-02T08:00:00Z', 'POST', '/vital', '[]', ?, 1, 'vital:msg_1', 'processed')`,
    ).run(Buffer.from('{}'));
    old.close();

    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count('documents'), count('document_versions'), count('samples'), count('users'), count('deliveries')]).toEqual([3, 3, 1, 1, 1]);
    const versions = db.prepare(
      `SELECT d.id, d.day, d.version, d.retrieved_at, v.data = d.data AS same_data, v.content_sha256, v.source, v.day AS version_day
       FROM documents d JOIN document_versions v ON v.seq = d.current_seq ORDER BY d.provider`,
    ).all() as Record<string, unknown>[];
    for (const [provider, , id, , , data] of docs) {
      const row = versions.find((v) => v.id === id)!;
      expect(row).toMatchObject({ version: 1, retrieved_at: '2026-03-03T08:00:00.000Z', same_data: 1, source: provider === 'oura' ? 'sync' : 'webhook' });
      expect(row.content_sha256).toBe(createHash('sha256').update(JSON.stringify(data)).digest('hex'));
    }
    // 02:00Z on March 3rd is 21:00 on March 2nd in New York.
    expect(versions.find((v) => v.id === 'vs-ny')).toMatchObject({ day: '2026-03-02', version_day: '2026-03-02' });
    expect(db.prepare('SELECT sleep_id, source, day FROM samples').get()).toEqual({ sleep_id: owSleep.id, source: 'webhook', day: '2026-03-02' });
    db.close();

    const res = await runCli(['--db', file, 'export', '--from', '2026-03-02', '--to', '2026-03-02', '--type', 'sleep', '--format', 'json'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).map((r: { source_id: string }) => r.source_id).sort()).toEqual([ouraSleep.id, owSleep.id, 'vs-ny'].sort());
  });

  it('upgrades the schema before sample contexts: samples kept, Oura enhanced tags and rest mode periods get their start_day as day and export', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'before-contexts.db');
    const old = openDatabase(file, { migrateTo: 11 }); // the schema before migration 12
    old.prepare(
      `INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value, unit, source, retrieved_at)
       VALUES ('oura', ?, 'heart_rate', ?, '2026-03-08T06:59:00+00:00', '2026-03-08', 61, 'bpm', 'sync', '2026-03-09T08:00:00.000Z')`,
    ).run(OURA_USER, Date.parse('2026-03-08T06:59:00Z'));
    const tag = { id: 'etag-1', tag_type_code: 'tag_generic_caffeine', start_time: '2026-03-08T08:00:00-05:00', end_time: null, start_day: '2026-03-08', end_day: null, comment: null, custom_name: null };
    old.prepare(
      `INSERT INTO documents (provider, type, id, user_id, day, data, updated_at, start_time, source, version, retrieved_at)
       VALUES ('oura', 'enhanced_tag', 'etag-1', ?, NULL, ?, '2026-03-09T08:00:00Z', NULL, 'webhook', 1, '2026-03-09T08:00:00.000Z')`,
    ).run(OURA_USER, JSON.stringify(tag));
    old.close();
    const res = await runCli(['--db', file, 'export', '--from', '2026-03-08', '--to', '2026-03-08', '--type', 'heart_rate,tags', '--format', 'json', '--out', path.join(dir, 'out')], {
      env: { WEARHOOK_CONFIG_DIR: dir },
    });
    expect(res.code, res.stderr).toBe(0);
    const read = (name: string) => JSON.parse(fs.readFileSync(path.join(dir, 'out', name), 'utf8'));
    expect(read('heart_rate.json')).toMatchObject([{ user_id: OURA_USER, bpm: 61, context: null, timestamp_utc: '2026-03-08T06:59:00Z' }]);
    expect(read('tags.json')).toMatchObject([{ day: '2026-03-08', start: '2026-03-08T08:00:00-05:00', tag: 'tag_generic_caffeine', kind: 'enhanced_tag' }]);
  });

  it('runs every migration on a new file, readable by its owner only, and uses WAL', () => {
    const file = path.join(tempDir(), 'new.db');
    const db = openDatabase(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });
});

describe.skipIf(onPostgres)('dedupe keys', () => {
  it('gives stored Oura deliveries keys that cannot collide, so a retry of one stored before the upgrade is still a duplicate', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'v7.db');
    const old = openDatabase(file, { migrateTo: 7 });
    const body = '{"event_type":"create","data_type":"sleep","object_id":"x","event_time":"t:1","user_id":"ou-1"}';
    old.prepare(
      `INSERT INTO deliveries (provider, received_at, method, path, headers, body, verified, dedupe_key, status) VALUES ('oura', '2026-03-02T08:00:00Z', 'POST', '/oura', '[]', ?, 1, 'oura:ou-1:sleep:create:x:t:1', 'processed')`,
    ).run(Buffer.from(body));
    old.close();

    const t = await startTestReceiver({ dbFile: file });
    try {
      const retry = await send(`${t.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, body), body });
      expect(retry.json()).toMatchObject({ id: 1, duplicate: true });
      // The notification whose fields joined into the same old key is a delivery of its own.
      const other = '{"event_type":"create","data_type":"sleep","object_id":"x:t","event_time":"1","user_id":"ou-1"}';
      expect((await send(`${t.receiver.url}/oura`, { headers: ouraHeaders(TEST_SECRETS.oura, other), body: other })).json()).toMatchObject({ duplicate: false });
      expect(t.db.prepare("SELECT dedupe_key FROM deliveries WHERE id = 1").get()).toEqual({
        dedupe_key: `oura:${createHash('sha256').update(JSON.stringify(['ou-1', 'sleep', 'create', 'x', 't:1', null])).digest('hex')}`,
      });
    } finally {
      await t.close();
    }
  });
});
