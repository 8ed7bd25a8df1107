import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { createHash } from 'node:crypto';
import { BIN, ROOT, runCli, tempDir } from './helpers/cli.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { seedOuraUser } from './helpers/oura-user.js';
import { onPostgres, storeText, testDatabase } from './helpers/engine.js';

/**
 * `wearhook auth oura|list|logout` as a user runs them: a child process, a browser played by the
 * test. On SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES); what never reaches the store
 * (flags, the loopback server, errors before the consent) runs once.
 */

interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `re` in stderr. */
  waitForStderr(re: RegExp): Promise<RegExpMatchArray>;
  exit: Promise<number | null>;
}

const running: RunningCli[] = [];
let fake: OuraFake;
let dir: string;
let env: Record<string, string>;

beforeEach(async () => {
  fake = await startOuraFake();
  fake.addUser({ id: 'oura-user-1', email: 'p001@example.com' });
  dir = tempDir();
  env = { ...fake.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: await testDatabase(dir) };
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exit;
  }
  await fake.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function startCli(args: string[], extraEnv: Record<string, string> = {}): RunningCli {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith('WEARHOOK_') || key.startsWith('OURA_')) delete childEnv[key];
  Object.assign(childEnv, { NO_COLOR: '1' }, env, extraEnv);
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv as NodeJS.ProcessEnv, cwd: ROOT });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString('utf8');
    for (const w of [...waiters]) {
      const m = err.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const cli: RunningCli = {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitForStderr: (re) =>
      new Promise((resolve, reject) => {
        const m = err.match(re);
        if (m) return resolve(m);
        waiters.push({ re, resolve });
        void exit.then(() => reject(new Error(`wearhook exited before printing ${re}:\n${err}`)));
      }),
  };
  running.push(cli);
  return cli;
}

/** What a browser does with the printed URL: open it, follow Oura's redirect to the loopback callback. */
async function actLikeBrowser(authorizeUrl: string): Promise<{ status: number; page: string }> {
  const consent = await request(authorizeUrl, { method: 'GET' });
  await consent.body.dump();
  expect(consent.statusCode).toBe(302);
  const callback = await request(String(consent.headers.location), { method: 'GET' });
  return { status: callback.statusCode, page: await callback.body.text() };
}

const URL_LINE = /Open this URL to authorize wearhook:\n\s+(\S+)/;

describe('wearhook auth oura', () => {
  it('logs a user in through the printed URL and stores the user and tokens', async () => {
    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0', '--label', 'P001', '--json']);
    const [, url] = await cli.waitForStderr(URL_LINE);
    const redirect = cli.stderr().match(/Redirect URI: (http:\/\/localhost:\d+\/callback)/)?.[1];
    expect(redirect).toBeDefined();
    expect(cli.stderr()).toContain('https://cloud.ouraring.com/oauth/applications');
    const authorize = new URL(url!);
    expect(authorize.origin + authorize.pathname).toBe(fake.authorizeUrl);
    expect(authorize.searchParams.get('redirect_uri')).toBe(redirect);
    expect(authorize.searchParams.get('client_id')).toBe(fake.clientId);
    expect(authorize.searchParams.get('state')!.length).toBeGreaterThanOrEqual(20);

    const browser = await actLikeBrowser(url!);
    expect(browser.status).toBe(200);
    expect(browser.page).toContain('wearhook is authorized');

    expect(await cli.exit).toBe(0);
    const user = JSON.parse(cli.stdout());
    expect(user).toMatchObject({ provider: 'oura', user_id: 'oura-user-1', email: 'p001@example.com', label: 'P001' });
    expect(user.scopes).toContain('daily');

    const list = await runCli(['auth', 'list', '--json'], { env });
    expect(list.code).toBe(0);
    const accounts = JSON.parse(list.stdout);
    expect(accounts).toEqual([expect.objectContaining({ user_id: 'oura-user-1', label: 'P001', status: 'ok' })]);

    // Tokens live only in the 0600 credential file, never in output or the database.
    const credentialFile = path.join(env.WEARHOOK_CONFIG_DIR!, 'credentials.json');
    expect(fs.statSync(credentialFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(fs.readFileSync(credentialFile, 'utf8'))['oura:oura-user-1'];
    expect(fake.isAccessTokenValid(stored.access_token)).toBe(true);
    for (const text of [cli.stdout(), cli.stderr(), list.stdout, await storeText(env.WEARHOOK_DB!)]) {
      expect(text).not.toContain(stored.access_token);
      expect(text).not.toContain(stored.refresh_token);
      expect(text).not.toContain(fake.clientSecret);
    }
  });

  it('fails with exit 1 and says so when consent is denied', async () => {
    fake.consent = { deny: true };
    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0']);
    const [, url] = await cli.waitForStderr(URL_LINE);
    const browser = await actLikeBrowser(url!);
    expect(browser.status).toBe(400);
    expect(browser.page).toContain('declined');
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/error: Access was declined .*access_denied/);
    expect((await runCli(['auth', 'list', '--json'], { env })).stdout.trim()).toBe('[]');
  });

  it('answers a callback with a wrong state 400 and ignores it; the login goes on and succeeds', async () => {
    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0', '--json']);
    const [, url] = await cli.waitForStderr(URL_LINE);
    const redirect = cli.stderr().match(/Redirect URI: (http:\/\/localhost:\d+\/callback)/)![1]!;
    // Any web page can send the browser there: without a state, with a forged one, with a forged error.
    const callback = redirect.replace('localhost', '127.0.0.1');
    for (const query of ['?state=nope', '', '?code=stolen&state=nope', '?error=access_denied&state=nope']) {
      const forged = await request(`${callback}${query}`);
      expect(forged.statusCode).toBe(400);
      expect(await forged.body.text()).toContain('ignored');
    }
    // A consent that comes back with a forged state (a stale tab) is ignored too.
    fake.consent = { state: 'forged-state' };
    expect((await actLikeBrowser(url!)).status).toBe(400);
    expect(cli.child.exitCode).toBeNull();
    // No code of those answers was ever exchanged; the real one is.
    expect(fake.requestsTo('/oauth/token')).toHaveLength(0);
    fake.consent = {};
    expect((await actLikeBrowser(url!)).status).toBe(200);
    expect(await cli.exit).toBe(0);
    expect(JSON.parse(cli.stdout())).toMatchObject({ user_id: 'oura-user-1' });
  });

  it('sends PKCE (S256) and exchanges the code with its verifier; a server that ignores PKCE works too', async () => {
    for (const mode of ['enforce', 'ignore'] as const) {
      fake.pkce = mode;
      const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0']);
      const [, url] = await cli.waitForStderr(URL_LINE);
      const authorize = new URL(url!).searchParams;
      expect(authorize.get('code_challenge_method')).toBe('S256');
      expect((await actLikeBrowser(url!)).status).toBe(200);
      expect(await cli.exit).toBe(0);
      const exchange = fake.requestsTo('/oauth/token').at(-1)!.form!;
      expect(exchange.grant_type).toBe('authorization_code');
      expect(createHash('sha256').update(exchange.code_verifier!).digest('base64url')).toBe(authorize.get('code_challenge'));
    }
  });
});

// Nothing of these reaches the store: once, on SQLite.
describe.skipIf(onPostgres)('wearhook auth oura before the consent', () => {
  it('shows an error description from the authorization server with its control characters escaped', async () => {
    fake.consent = { error: 'invalid_scope', errorDescription: 'bad \u001b[2J\u001b]0;pwned\u0007 scope' };
    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0']);
    const [, url] = await cli.waitForStderr(URL_LINE);
    expect((await actLikeBrowser(url!)).status).toBe(400);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toContain('invalid_scope: bad \\x1b[2J\\x1b]0;pwned\\x07 scope');
    expect(cli.stderr()).not.toContain('\u001b');
  });

  it('gives up after --timeout with exit 1', async () => {
    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0', '--timeout', '1']);
    expect(await cli.exit).toBe(1);
    expect(cli.stderr()).toMatch(/error: No answer from the Oura consent page within 1 s/);
  });

  it('says which port is taken and how to pick another', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runCli(['auth', 'oura', '--no-browser', '--port', String(port)], { env });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(result.stderr).toContain('--port');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('asks for the client credentials with exit 2 when they are missing', async () => {
    const result = await runCli(['auth', 'oura', '--no-browser', '--port', '0'], { env: { ...env, OURA_CLIENT_SECRET: '' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error: The Oura client secret is not set: export OURA_CLIENT_SECRET=/);
  });
});

describe('authorizing again', () => {
  it('brings back a user whose refresh token was refused, keeping their label', async () => {
    const seeded = await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'oura-user-1', label: 'P001', accessTokenExpired: true });
    await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: seeded.refresh_token, client_id: fake.clientId, client_secret: fake.clientSecret }),
    });
    const sync = ['sync', '--from', '2026-03-01', '--to', '2026-03-02'];
    const failed = await runCli(sync, { env });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('run `wearhook auth oura --label P001` again');

    const cli = startCli(['auth', 'oura', '--no-browser', '--port', '0']);
    const [, url] = await cli.waitForStderr(URL_LINE);
    expect((await actLikeBrowser(url!)).status).toBe(200);
    expect(await cli.exit).toBe(0);
    expect(cli.stdout()).toContain('label P001');

    const list = JSON.parse((await runCli(['auth', 'list', '--json'], { env })).stdout);
    expect(list).toEqual([expect.objectContaining({ user_id: 'oura-user-1', label: 'P001', status: 'ok', last_error: null })]);
    expect((await runCli(sync, { env })).code).toBe(0);
  });
});

describe('wearhook auth logout', () => {
  it('revokes the grant at Oura, then forgets the tokens and the user', async () => {
    const tokens = await seedOuraUser(fake, { configDir: env.WEARHOOK_CONFIG_DIR!, dbPath: env.WEARHOOK_DB!, userId: 'oura-user-1', label: 'P001' });
    const result = await runCli(['auth', 'logout', '--label', 'P001'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Logged out Oura user P001 (oura-user-1) (revoked at Oura)');
    expect(fake.revokedTokens).toEqual([tokens.access_token]);
    expect(fake.isAccessTokenValid(tokens.access_token)).toBe(false);
    const credentials = JSON.parse(fs.readFileSync(path.join(env.WEARHOOK_CONFIG_DIR!, 'credentials.json'), 'utf8'));
    expect(credentials).toEqual({});
    expect((await runCli(['auth', 'list', '--json'], { env })).stdout.trim()).toBe('[]');
  });

});

describe.skipIf(onPostgres)('wearhook auth logout without a user', () => {
  it('needs to be told whom to log out', async () => {
    const result = await runCli(['auth', 'logout'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--user ID, --label NAME or --all');
  });
});

describe.skipIf(onPostgres)('the loopback redirect', () => {
  it('listens on [::1] as well when localhost names it, and says clearly when it cannot', async () => {
    const { listenForCallback } = await import('../src/providers/oura/oauth.js');
    const both = await listenForCallback({ port: 0, state: 's-1', timeoutMs: 10_000, resolveLocalhost: async () => ['::1', '127.0.0.1'] });
    try {
      // A browser that resolves localhost to ::1 first reaches the same login.
      const answer = request(`http://[::1]:${both.port}/callback?code=c-1&state=s-1`);
      expect(await both.callback).toMatchObject({ code: 'c-1' });
      both.finish({ ok: true, title: 'done', message: 'done' });
      expect((await answer).statusCode).toBe(200);
    } finally {
      await both.close();
    }

    // A port taken on [::1] only: another process may hold the same number on 127.0.0.1, so
    // take one whose 127.0.0.1 side is free (checked just before the login tries it).
    const { taken, port } = await portTakenOnIpv6Only();
    try {
      await expect(listenForCallback({ port, state: 's', timeoutMs: 1_000, resolveLocalhost: async () => ['127.0.0.1', '::1'] })).rejects.toThrow(
        `Port ${port} on [::1] is already in use`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    await expect(listenForCallback({ port: 0, state: 's', timeoutMs: 1_000, resolveLocalhost: async () => ['192.0.2.7'] })).rejects.toThrow(
      /localhost names 192\.0\.2\.7 on this machine, not a loopback address/,
    );
  });
});

async function portTakenOnIpv6Only(): Promise<{ taken: net.Server; port: number }> {
  for (;;) {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '::1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const probe = net.createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise((resolve) => probe.close(resolve));
      return { taken, port };
    }
    await new Promise((resolve) => taken.close(resolve));
  }
}
