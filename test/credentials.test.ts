import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from './helpers/cli.js';

/** The credential file: 0600, atomic, safe when several wearhook processes write it at once, never silently reset. */

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A child process that saves `count` users' tokens through the compiled store. */
function saveMany(prefix: string, count: number): Promise<number | null> {
  const script = `
    const { CredentialStore } = await import(${JSON.stringify(path.join(ROOT, 'dist', 'credentials', 'token-store.js'))});
    const store = new CredentialStore();
    for (let i = 0; i < ${count}; i++) {
      await store.save('oura', '${prefix}' + i, { access_token: 'a' + i, refresh_token: 'r' + i, expires_at: new Date().toISOString(), scopes: ['daily'], obtained_at: new Date().toISOString() });
    }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, WEARHOOK_CONFIG_DIR: dir }, stdio: 'inherit' });
  return new Promise((resolve) => child.on('close', resolve));
}

describe('credential store', () => {
  it('keeps every write when two processes save different users at the same time', async () => {
    const codes = await Promise.all([saveMany('a', 25), saveMany('b', 25)]);
    expect(codes).toEqual([0, 0]);
    const file = path.join(dir, 'credentials.json');
    const keys = Object.keys(JSON.parse(fs.readFileSync(file, 'utf8')));
    expect(keys).toHaveLength(50);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reports a corrupt credential file and leaves it alone', async () => {
    const file = path.join(dir, 'credentials.json');
    fs.writeFileSync(file, '{"oura:u1": {"access_token": ', { mode: 0o600 });
    const result = await runCli(['auth', 'list'], { env: { WEARHOOK_CONFIG_DIR: dir, WEARHOOK_DB: path.join(dir, 'db.sqlite') } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/credentials\.json is not valid JSON.*will not overwrite it/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"oura:u1": {"access_token": ');
  });
});
