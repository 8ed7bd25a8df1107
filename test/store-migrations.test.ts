import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase, schemaVersion } from '../src/store/db.js';
import { SCHEMA_VERSION } from '../src/store/migrations.js';
import { runCli, tempDir } from './helpers/cli.js';
import { ouraReadiness, OURA_USER } from './fixtures/documents.js';

describe('store migrations', () => {
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
