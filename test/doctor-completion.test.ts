import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../src/store/db.js';
import { upsertSubscription } from '../src/store/subscriptions.js';
import { updateUserTokenState, upsertUser } from '../src/store/users.js';
import { findOnPath } from '../src/tunnels/cloudflared.js';
import { runCli, tempDir } from './helpers/cli.js';
import { onPostgres, testDatabase } from './helpers/engine.js';
import { startServer, type TestServer } from './helpers/http-server.js';
import { startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { TEST_SECRETS } from './helpers/signing.js';

/**
 * `wearhook doctor` and `completion`. The store doctor reads (users, subscriptions, deliveries)
 * is read on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES); the rest once, on SQLite.
 */
interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

let dir: string;
let busy: TestServer;
let receiver: TestReceiver;
let fakeBin: string;
beforeAll(async () => {
  dir = tempDir();
  // A cloudflared on PATH (doctor looks for the file; it never runs it).
  fakeBin = path.join(dir, 'bin');
  fs.mkdirSync(fakeBin);
  fs.writeFileSync(path.join(fakeBin, 'cloudflared'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  busy = await startServer((_req, res) => res.writeHead(404).end('not wearhook'));
  receiver = await startTestReceiver();
});
afterAll(async () => {
  await busy.close();
  await receiver.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('wearhook doctor', () => {
  // A database file not there yet, and the config: checked once, on SQLite.
  it.skipIf(onPostgres)('a working set-up: every line ok or warn with its fix, secrets redacted, exit 0', async () => {
    const env = {
      WEARHOOK_CONFIG_DIR: path.join(dir, 'good-config'),
      WEARHOOK_DB: path.join(dir, 'good.db'),
      WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
      OURA_CLIENT_ID: 'client-id',
      OURA_CLIENT_SECRET: TEST_SECRETS.oura,
      NGROK_AUTHTOKEN: 'ngrok-token-for-test',
      PATH: `${fakeBin}${path.delimiter}${process.env.PATH}`,
    };
    const res = await runCli(['doctor', '--json', '--port', String(receiver.receiver.port)], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).not.toContain(TEST_SECRETS.vital.slice(6));
    expect(res.stdout).not.toContain(TEST_SECRETS.oura);
    const checks = JSON.parse(res.stdout) as Check[];
    const by = (name: string) => checks.find((c) => c.check === name)!;
    expect(by('database')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/good\.db \(WEARHOOK_DB\) does not exist yet/) });
    expect(fs.existsSync(env.WEARHOOK_DB)).toBe(false);
    expect(by('config')).toMatchObject({ status: 'ok', detail: expect.stringContaining(`${env.WEARHOOK_CONFIG_DIR} does not exist yet`) });
    expect(by('secret vital')).toMatchObject({ status: 'ok', detail: 'whse**** (WEARHOOK_SECRET_VITAL)' });
    expect(by('secret corsano')).toMatchObject({ status: 'warn', fix: expect.stringContaining('WEARHOOK_SECRET_CORSANO') });
    expect(by('oura app')).toMatchObject({ status: 'ok', detail: 'client id client-id, secret oura****' });
    expect(by(`port ${receiver.receiver.port}`)).toMatchObject({ status: 'ok', detail: 'a wearhook receiver is running there' });
    expect(by('tunnel cloudflared')).toMatchObject({ status: 'ok', detail: path.join(fakeBin, 'cloudflared') });
    expect(by('tunnel ngrok')).toMatchObject({ status: 'ok', detail: '@ngrok/ngrok installed, auth token set' });
    expect(res.stdout).not.toContain('ngrok-token-for-test');
    expect(checks.every((c) => c.status === 'ok' || c.fix)).toBe(true);
  });

  it('a broken set-up: each problem a fail or warn with its fix, exit 1', async () => {
    const configDir = path.join(dir, 'bad-config');
    const dbFile = await testDatabase(
      dir,
      (db: DB) => {
        upsertUser(db, { provider: 'oura', userId: 'ou-1', label: 'P001', scopes: 'daily', tokenExpiresAt: new Date().toISOString() });
        updateUserTokenState(db, 'oura', 'ou-1', { needsReauth: true, lastError: 'invalid_grant' });
        const day = 86_400_000;
        upsertSubscription(db, { id: 's-old', callback_url: 'https://x/oura', event_type: 'create', data_type: 'sleep', expiration_time: new Date(Date.now() - day).toISOString() });
        upsertSubscription(db, { id: 's-soon', callback_url: 'https://x/oura', event_type: 'create', data_type: 'daily_activity', expiration_time: new Date(Date.now() + 3 * day).toISOString() });
      },
      'bad.db',
    );
    if (!onPostgres) fs.chmodSync(dbFile, 0o644);
    // No cloudflared on this PATH (the CLI runs from process.execPath and needs no PATH).
    const env = { WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbFile, WEARHOOK_SECRET_STANDARD: 'not a whsec secret', OURA_CLIENT_ID: 'id', PATH: path.join(dir, 'empty-bin') };
    const res = await runCli(['doctor', '--port', String(busy.port)], { env });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^3 checks failed; see the fixes above\.\n$/);
    const out = res.stdout;
    expect(out).toMatch(/^fail +secret standard +not \*\*\*\* \(WEARHOOK_SECRET_STANDARD\) is not a Standard Webhooks secret\n +fix: set WEARHOOK_SECRET_STANDARD to whsec_/m);
    expect(out).toMatch(/^fail +oura user +ou-1 \(P001\): Oura refused the refresh token \(invalid_grant\)\n +fix: wearhook auth oura --label P001$/m);
    expect(out).toMatch(/^fail +subscriptions +1 expired: Oura sends nothing for sleep\n +fix: wearhook subs renew --all/m);
    expect(out).toMatch(/^warn +subscriptions +1 expire within 7 days\n +fix: wearhook subs renew --expiring-within 7d$/m);
    // A file's mode is SQLite's; a PostgreSQL URL is shown without its password.
    if (onPostgres) expect(out).not.toContain(new URL(dbFile).password);
    else expect(out).toMatch(new RegExp(`^warn +database mode +${dbFile.replace(/[.]/g, '\\.')} is mode 644.*\\n +fix: chmod 600 `, 'm'));
    expect(out).toMatch(new RegExp(`^warn +port ${busy.port} +in use by another program, so wearhook listen cannot take it\\n +fix: stop that program or use listen --port N$`, 'm'));
    expect(out).toMatch(/^warn +oura app +OURA_CLIENT_SECRET not set/m);
    expect(out).toMatch(/^warn +tunnel cloudflared +cloudflared is not on PATH\n +fix: install cloudflared/m);
    expect(out).toMatch(/^warn +tunnel ngrok +no auth token\n +fix: export NGROK_AUTHTOKEN=/m);
    const shown = onPostgres ? 'postgres://\\S+:\\*\\*\\*\\*@\\S+' : '.*bad\\.db';
    expect(out).toMatch(new RegExp(`^ok +database +${shown} \\(WEARHOOK_DB\\): schema \\d+, 0 deliveries$`, 'm'));
    if (!onPostgres) expect(fs.statSync(dbFile).mode & 0o777).toBe(0o644); // doctor changes nothing
  });

  // The config file, before any store: checked once, on SQLite.
  it.skipIf(onPostgres)('a corrupt config file is one failure with its fix', async () => {
    const configDir = path.join(dir, 'corrupt');
    fs.mkdirSync(configDir);
    fs.writeFileSync(path.join(configDir, 'config.json'), '{oops');
    const res = await runCli(['doctor', '--json', '--port', String(receiver.receiver.port)], { env: { WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: path.join(dir, 'c.db') } });
    expect(res.code).toBe(1);
    const checks = JSON.parse(res.stdout) as Check[];
    expect(checks.filter((c) => c.status === 'fail')).toEqual([
      expect.objectContaining({ check: 'config', detail: expect.stringMatching(/config\.json is not valid JSON/), fix: expect.stringMatching(/config\.json$/) }),
    ]);
  });
});

// No store: checked once, on SQLite.
describe.skipIf(onPostgres)('wearhook completion', () => {
  const complete = (script: string, shell: string, words: string[]) => {
    const file = path.join(dir, `completion.${shell}`);
    fs.writeFileSync(file, script);
    const quoted = words.map((w) => `'${w}'`).join(' ');
    if (shell === 'bash') {
      return execFileSync('bash', ['-c', `source ${file}; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _wearhook; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim().split(/\s+/);
    }
    if (shell === 'zsh') {
      const offered = execFileSync('zsh', ['-c', `autoload -Uz compinit && compinit -u; source ${file}; setopt ksharrays; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _wearhook; print -r -- "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim().split(/\s+/);
      // zsh itself keeps the candidates that start with the word typed (its compgen emulation offers them all).
      return offered.filter((word) => word.startsWith(words.at(-1)!));
    }
    const line = words.join(' ');
    return execFileSync('fish', ['-c', `source ${file}; complete -C '${line}'`], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split('\t')[0]!);
  };

  for (const shell of ['bash', 'zsh', 'fish'] as const) {
    it.skipIf(!findOnPath(shell))(`${shell}: commands, options, providers and event names`, async () => {
      const res = await runCli(['completion', shell]);
      expect(res.code).toBe(0);
      const script = res.stdout;
      expect(complete(script, shell, ['wearhook', 'ev'])).toEqual(['events']);
      expect(complete(script, shell, ['wearhook', 'events', '']).sort()).toEqual(['coverage', 'forward-retry', 'list', 'replay', 'show', 'tail']);
      expect(complete(script, shell, ['wearhook', 'events', 'list', '--provider', '']).sort()).toEqual(['corsano', 'open-wearables', 'oura', 'standard', 'vital']);
      expect(complete(script, shell, ['wearhook', 'trigger', 'oura', 'sleep.']).sort()).toEqual(['sleep.create', 'sleep.delete', 'sleep.update']);
      expect(complete(script, shell, ['wearhook', 'trigger', 'vital', '']).sort()).toEqual(['daily.data.activity.created', 'daily.data.sleep.created']);
      expect(complete(script, shell, ['wearhook', 'events', 'replay', '--re'])).toEqual(['--resign']);
    });
  }

  it('an unknown shell is a usage error', async () => {
    const res = await runCli(['completion', 'tcsh']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish/);
  });
});
