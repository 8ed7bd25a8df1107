import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeLocation } from '../src/store/location.js';
import { commandToRun } from '../src/cli/program.js';
import { runCli, tempDir } from './helpers/cli.js';
import { onPostgres, testDatabase } from './helpers/engine.js';

/**
 * The command line, the config file and the database path. Only the store named by --db or
 * WEARHOOK_DB is read on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES); help, config
 * and SQLite's default file once, on SQLite.
 */

// No store: checked once, on SQLite.
describe.skipIf(onPostgres)('the command-line surface', () => {
  it('--help lists every command of the contract', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    for (const command of ['auth', 'subs', 'listen', 'sync', 'export', 'events', 'trigger', 'config']) {
      expect(res.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });

  it('a command group without its subcommand shows its help as a usage error (exit 2)', async () => {
    const res = await runCli(['auth']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/Usage: wearhook auth/);
    expect((await runCli(['subs', '--help'])).code).toBe(0);
    expect((await runCli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a mistyped command is answered from the whole tree, with a suggestion, wherever the global options are', async () => {
    for (const args of [['exprot'], ['--db', 'x.db', 'lisen'], ['--json', 'participant']]) {
      const res = await runCli(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr, args.join(' ')).toMatch(/unknown command '\w+'\n\(Did you mean (export|listen|participants)\?\)/);
    }
  });

  it('a run registers only its own command, found past the global options; help, completion and anything unknown get every command', () => {
    expect(commandToRun(['--db', 'export', 'export', '--type', 'sleep'])).toBe('export');
    expect(commandToRun(['--db=a.db', '--json', '--no-color', '--debug', 'sync', '--help'])).toBe('sync');
    for (const args of [[], ['--help'], ['-h'], ['-V'], ['help', 'export'], ['completion', 'bash'], ['exprot'], ['--colour', 'export'], ['--db']]) {
      expect(commandToRun(args), args.join(' ')).toBeNull();
    }
  });

  it('every command has an example in its help', async () => {
    for (const args of [['auth', 'oura'], ['subs', 'create'], ['listen'], ['sync'], ['export'], ['events', 'replay'], ['trigger'], ['config', 'set']]) {
      const res = await runCli([...args, '--help']);
      expect(res.code, args.join(' ')).toBe(0);
      expect(res.stdout, args.join(' ')).toMatch(/Examples?:\n\s+\$ wearhook /);
    }
  });
});

// The config file, not the store: checked once, on SQLite.
describe.skipIf(onPostgres)('wearhook config', () => {
  it('stores settings in WEARHOOK_CONFIG_DIR with mode 0600 and redacts secrets in list', async () => {
    const dir = tempDir();
    const env = { WEARHOOK_CONFIG_DIR: dir };
    expect((await runCli(['config', 'set', 'oura.clientSecret', 'supersecretvalue123'], { env })).code).toBe(0);
    expect((await runCli(['config', 'set', 'oura.clientId', 'my-client-id'], { env })).code).toBe(0);
    const file = path.join(dir, 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect((await runCli(['config', 'path'], { env })).stdout.trim()).toBe(file);

    const list = await runCli(['config', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('supersecretvalue123');
    const rows = JSON.parse(list.stdout) as { key: string; value: string | null; source: string }[];
    expect(rows.find((r) => r.key === 'oura.clientSecret')).toMatchObject({ value: 'supe****', source: 'file' });
    expect(rows.find((r) => r.key === 'oura.clientId')).toMatchObject({ value: 'my-client-id', source: 'file' });
    expect(rows.find((r) => r.key === 'oura.apiUrl')).toMatchObject({ value: 'https://api.ouraring.com', source: 'default' });

    expect((await runCli(['config', 'get', 'oura.clientSecret'], { env })).stdout.trim()).toBe('supe****');
    expect((await runCli(['config', 'get', 'oura.clientSecret', '--reveal'], { env })).stdout.trim()).toBe('supersecretvalue123');
  });

  it('environment variables win over the stored value', async () => {
    const dir = tempDir();
    await runCli(['config', 'set', 'oura.clientId', 'from-file'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    const res = await runCli(['config', 'get', 'oura.clientId'], { env: { WEARHOOK_CONFIG_DIR: dir, OURA_CLIENT_ID: 'from-env' } });
    expect(res.stdout.trim()).toBe('from-env');
  });

  it('unset removes a stored value; an unknown key is a usage error', async () => {
    const dir = tempDir();
    const env = { WEARHOOK_CONFIG_DIR: dir };
    await runCli(['config', 'set', 'secrets.vital', 'whsec_abc'], { env });
    expect((await runCli(['config', 'unset', 'secrets.vital'], { env })).code).toBe(0);
    const get = await runCli(['config', 'get', 'secrets.vital'], { env });
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(/secrets\.vital is not set/);
    const bad = await runCli(['config', 'set', 'oura.clientid', 'x'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown setting "oura\.clientid"/);
  });

  it('a corrupt config file is reported, not overwritten', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, '{"oura.clientId": "abc", oops');
    const res = await runCli(['config', 'set', 'oura.clientId', 'new'], { env: { WEARHOOK_CONFIG_DIR: dir } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/config\.json is not valid JSON .*wearhook will not overwrite it/);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"oura.clientId": "abc", oops');
  });
});

describe('the database path', () => {
  it('config list names the store in force (a URL without its password), and commands use it', async () => {
    const dir = tempDir();
    const db = await testDatabase(dir);
    const env = { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: db };
    const listed = await runCli(['config', 'list'], { env });
    expect(listed.stdout).toContain(`db = ${storeLocation(db).shown}  [env]`);
    if (onPostgres) expect(listed.stdout).not.toContain(new URL(db).password);
    const events = await runCli(['events', 'list'], { env });
    expect(events).toMatchObject({ code: 0, stderr: expect.stringMatching(/no deliveries match/) });
  });

  // SQLite's default file and its folder: checked once, on SQLite.
  it.skipIf(onPostgres)('config list shows it and where it comes from; a chosen path in a missing folder is exit 2, nothing created', async () => {
    const dir = tempDir();
    const env = { WEARHOOK_CONFIG_DIR: dir, XDG_DATA_HOME: path.join(dir, 'data') };
    const rows = async (args: string[], extra: Record<string, string> = {}) =>
      JSON.parse((await runCli([...args, 'config', 'list', '--json'], { env: { ...env, ...extra } })).stdout) as { key: string; value: string; source: string }[];
    expect((await rows([])).find((r) => r.key === 'db')).toEqual({ key: 'db', value: path.join(dir, 'data', 'wearhook', 'wearhook.db'), source: 'default', env: 'WEARHOOK_DB' });
    expect((await rows([], { WEARHOOK_DB: path.join(dir, 'env.db') })).find((r) => r.key === 'db')).toMatchObject({ value: path.join(dir, 'env.db'), source: 'env' });
    expect((await rows(['--db', path.join(dir, 'flag.db')], { WEARHOOK_DB: path.join(dir, 'env.db') })).find((r) => r.key === 'db')).toMatchObject({ value: path.join(dir, 'flag.db'), source: 'flag' });
    const text = await runCli(['config', 'list'], { env });
    expect(text.stdout).toContain(`db = ${path.join(dir, 'data', 'wearhook', 'wearhook.db')}  [default]`);

    const missing = path.join(dir, 'no', 'such', 'folder', 'w.db');
    for (const res of [await runCli(['--db', missing, 'events', 'list'], { env }), await runCli(['events', 'list'], { env: { ...env, WEARHOOK_DB: missing } })]) {
      expect(res.code).toBe(2);
      expect(res.stderr).toMatch(/^error: The folder of the database .*w\.db \((--db|WEARHOOK_DB)\) does not exist; create it or give another path\.\n$/);
    }
    expect(fs.existsSync(path.join(dir, 'no'))).toBe(false);
    // The per-user default's folder is created as before.
    expect((await runCli(['events', 'list'], { env })).code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'data', 'wearhook', 'wearhook.db'))).toBe(true);
  });
});
