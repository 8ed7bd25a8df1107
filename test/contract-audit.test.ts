import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { upsertDocument } from '../src/store/documents.js';
import { upsertUser } from '../src/store/users.js';
import { BIN, runCli, tempDir } from './helpers/cli.js';
import { onPostgres, testDatabase } from './helpers/engine.js';
import { runOnTerminal, shellQuote } from './helpers/terminal.js';

/**
 * Checks of the global behaviour table of CONTRACT.md that no single feature owns. Those that
 * read the store run on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES).
 */


describe('colour', () => {
  it('none at all when stdout is not a terminal, even on a terminal stderr', async () => {
    const dir = tempDir('wearhook-colour-');
    // A user whose tokens are missing: `auth list` warns about them on stderr.
    const db = await testDatabase(dir, (seed) => upsertUser(seed, { provider: 'oura', userId: 'u-without-tokens', label: 'P001' }));
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: db };
    const command = `${shellQuote(process.execPath)} ${shellQuote(BIN)} auth list`;

    const onTerminal = await runOnTerminal(command, env);
    expect(onTerminal.code).toBe(0);
    expect(onTerminal.output).toMatch(/\x1b\[33mwarning:/);

    const out = path.join(dir, 'accounts.txt');
    const redirected = await runOnTerminal(`${command} > ${shellQuote(out)}`, env);
    expect(redirected.code).toBe(0);
    expect(redirected.output).toContain('warning:');
    expect(redirected.output).not.toContain('\x1b[');
    expect(fs.readFileSync(out, 'utf8')).toContain('u-without-tokens');
  });
});

// The config file, not the store: checked once, on SQLite.
describe.skipIf(onPostgres)('--json: one JSON value per command', () => {
  it('config get, path, set and unset answer in JSON too', async () => {
    const dir = tempDir('wearhook-config-json-');
    const env = { WEARHOOK_CONFIG_DIR: dir };
    const file = path.join(dir, 'config.json');

    const set = await runCli(['config', 'set', 'oura.clientSecret', 'supersecretvalue123', '--json'], { env });
    expect(set.code).toBe(0);
    expect(set.stdout).not.toContain('supersecretvalue123');
    expect(JSON.parse(set.stdout)).toEqual({ key: 'oura.clientSecret', value: 'supe****', file });

    const get = await runCli(['--json', 'config', 'get', 'oura.clientSecret'], { env });
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toEqual({ key: 'oura.clientSecret', value: 'supe****', source: 'file', env: 'OURA_CLIENT_SECRET' });

    const apiUrl = await runCli(['config', 'get', 'oura.apiUrl', '--json'], { env });
    expect(JSON.parse(apiUrl.stdout)).toMatchObject({ value: 'https://api.ouraring.com', source: 'default' });

    expect(JSON.parse((await runCli(['config', 'path', '--json'], { env })).stdout)).toBe(file);

    const unset = await runCli(['config', 'unset', 'oura.clientSecret', '--json'], { env });
    expect(unset.code).toBe(0);
    expect(JSON.parse(unset.stdout)).toEqual({ key: 'oura.clientSecret', file });
  });

  it('config get of a setting that is not set says how to set it', async () => {
    const res = await runCli(['config', 'get', 'secrets.vital'], { env: { WEARHOOK_CONFIG_DIR: tempDir() } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: secrets\.vital is not set; run `wearhook config set secrets\.vital \.\.\.` or export WEARHOOK_SECRET_VITAL\.\n$/);
  });
});

describe('export --json', () => {
  async function seeded(): Promise<{ env: Record<string, string>; dir: string }> {
    const dir = tempDir('wearhook-export-json-');
    const doc = { id: 'ra-1', day: '2026-03-02', score: 81, contributors: { hrv_balance: 77 } };
    const db = await testDatabase(dir, (seed) => upsertDocument(seed, { provider: 'oura', type: 'daily_readiness', id: doc.id, userId: 'u1', day: doc.day, data: doc }));
    return { env: { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: db }, dir };
  }
  const range = ['--from', '2026-03-01', '--to', '2026-03-31'];

  it('writes the table as one JSON array on stdout when no --format is given', async () => {
    const { env } = await seeded();
    const res = await runCli(['--json', 'export', ...range, '--type', 'readiness'], { env });
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ provider: 'oura', user_id: 'u1', day: '2026-03-02', score: 81, hrv_balance: 77, source_id: 'ra-1' });
  });

  it('prints what it wrote as a JSON array when the tables go to files', async () => {
    const { env, dir } = await seeded();
    const out = path.join(dir, 'tables');
    const res = await runCli(['export', ...range, '--type', 'readiness,sleep', '--out', out, '--json'], { env });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual([
      { type: 'readiness', file: path.join(out, 'readiness.json'), rows: 1 },
      { type: 'sleep', file: path.join(out, 'sleep.json'), rows: 0 },
    ]);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'readiness.json'), 'utf8'))).toHaveLength(1);
  });

  // Refused before the store is read: checked once, on SQLite.
  it.skipIf(onPostgres)('refuses --json with --format csv or ndjson (exit 2), writing nothing', async () => {
    const { env } = await seeded();
    const res = await runCli(['--json', 'export', ...range, '--type', 'readiness', '--format', 'csv'], { env });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^error: --json writes JSON; drop --format csv or use --format json\.\n$/);
  });
});

// The credential file, before any store: checked once, on SQLite.
describe.skipIf(onPostgres)('a corrupt credential file', () => {
  it('stops auth oura before the user is sent to consent, and is left as it was', async () => {
    const dir = tempDir('wearhook-corrupt-credentials-');
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, '{"oura:u1": {"access_token": "tok', { mode: 0o600 });
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: path.join(dir, 'wearhook.db'), OURA_CLIENT_ID: 'client-id', OURA_CLIENT_SECRET: 'client-secret' };
    const res = await runCli(['auth', 'oura', '--no-browser', '--port', '0', '--timeout', '2'], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: The (credential )?file .*credentials\.json is not valid JSON .*wearhook will not overwrite it\.\n$/);
    expect(res.stderr).not.toContain('Open this URL');
    expect(fs.readFileSync(file, 'utf8')).toBe('{"oura:u1": {"access_token": "tok');
  });
});
