import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createInviteOp } from '../src/participants/enrolment.js';
import { runCli, tempDir } from './helpers/cli.js';
import { startListen, type ListenProcess } from './helpers/listen-process.js';
import { startOuraFake, type OuraFake } from './helpers/oura-fake.js';
import { storedOuraTokens } from './helpers/oura-user.js';
import { startPublicProxy, type PublicProxy } from './helpers/public-proxy.js';
import { ouraSleepDocument } from './fixtures/documents.js';
import { onPostgres, queryRows, runOp, testDatabase } from './helpers/engine.js';

/**
 * Remote enrolment end to end: `listen --public-url` behind the user's own proxy, the Oura
 * look-alike, `participants invite`, and the participant's browser played by fetch following
 * redirects: /enroll/<token> -> Oura's consent -> /oauth/callback. On SQLite and on PostgreSQL
 * (vitest.config.ts BOTH_ENGINES).
 */

let oura: OuraFake;
let proxy: PublicProxy;
let listen: ListenProcess;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  oura = await startOuraFake();
  oura.addUser({ id: 'oura-p007', email: 'p007@example.com' });
  oura.addDocuments('oura-p007', 'sleep', [ouraSleepDocument('sleep-p007', '2026-03-02')]);
  dir = tempDir('wearhook-enrol-');
  env = { ...oura.env(), WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: await testDatabase(dir) };
  proxy = await startPublicProxy();
  listen = await startBehindProxy();
});

/** A `listen --public-url` of the proxy; the proxy forwards to it once its receiver runs (before its public side opens). */
function startBehindProxy(): Promise<ListenProcess> {
  let forwarded = false;
  return startListen(env, ['--public-url', proxy.url], {
    onStderr: (stderr) => {
      const receiver = /receiver on (http:\/\/[\d.:]+);/.exec(stderr)?.[1];
      if (receiver && !forwarded) {
        forwarded = true;
        proxy.forwardTo(receiver);
      }
    },
  });
}

afterAll(async () => {
  await listen.stop('SIGTERM');
  await proxy.close();
  await oura.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The participant's browser: follows every redirect, returns the last page. */
async function browse(url: string): Promise<{ status: number; url: string; page: string }> {
  const res = await fetch(url, { redirect: 'follow' });
  return { status: res.status, url: res.url, page: await res.text() };
}

function notify(userId: string, objectId: string): Promise<Response> {
  const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: objectId, event_time: '2026-03-02T07:45:00+00:00', user_id: userId });
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', oura.clientSecret).update(timestamp + body).digest('hex').toUpperCase();
  return fetch(`${listen.url}/oura`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-oura-timestamp': timestamp, 'x-oura-signature': signature } });
}

function query<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  return queryRows<T>(env.WEARHOOK_DB!, sql, params);
}

const tokenRequests = () => oura.requestsTo('/oauth/token').length;

let invite: { url: string };
let tokens: ReturnType<typeof storedOuraTokens>;

describe('remote enrolment', () => {
  it('invite, consent at Oura, enrolled: tokens stored, the delivery that waited for the participant processed', async () => {
    expect(listen.stderr()).toContain(`register ${proxy.url}/oauth/callback as a redirect URI`);
    // Oura notifies about the participant before they enrol: the delivery waits, it does not burn retries.
    expect((await notify('oura-p007', 'sleep-p007')).status).toBe(200);
    const waiting = await listen.waitForLine((l) => l.type === 'work' && l.user_id === 'oura-p007', 'the waiting delivery');
    expect(waiting).toMatchObject({ status: 'pending', attempts: 0, error: expect.stringMatching(/^waiting for Oura user oura-p007 to authorize wearhook \(nobody has yet\)/) });
    expect(waiting.next_attempt_at).toBeUndefined();

    // No --public-url: the link goes on the public URL of the listen running on this database.
    const invited = await runCli(['participants', 'invite', 'P007', '--json'], { env });
    expect(invited.code, invited.stderr).toBe(0);
    invite = JSON.parse(invited.stdout);
    expect(invite).toMatchObject({ label: 'P007', created_participant: true, redirect_uri: `${proxy.url}/oauth/callback` });
    expect(invite.url).toMatch(new RegExp(`^${proxy.url}/enroll/[A-Za-z0-9_-]{43}$`));
    const token = invite.url.slice(invite.url.lastIndexOf('/') + 1);

    const browser = await browse(invite.url);
    expect(browser.status).toBe(200);
    expect(browser.page).toContain('You are enrolled');
    expect(browser.page).toContain('You can close this page.');
    expect(browser.url).toMatch(new RegExp(`^${proxy.url}/oauth/callback\\?`));
    const consent = oura.requestsTo('/oauth/authorize')[0]!;
    expect(consent.query).toMatchObject({ client_id: oura.clientId, redirect_uri: `${proxy.url}/oauth/callback`, code_challenge_method: 'S256' });
    // The look-alike enforces PKCE: the exchange carried the verifier of that challenge.
    expect(oura.requestsTo('/oauth/token')[0]!.form).toMatchObject({ grant_type: 'authorization_code', redirect_uri: `${proxy.url}/oauth/callback`, code_verifier: expect.any(String) });
    await listen.waitForLine((l) => l.type === 'enrolment' && l.status === 'enrolled', 'the enrolment');
    expect(listen.lines().find((l) => l.type === 'enrolment' && l.status === 'enrolled')).toEqual({ type: 'enrolment', status: 'enrolled', label: 'P007', user_id: 'oura-p007' });

    // The tokens are in the credential store (0600), never in the database; the invite only as a hash.
    tokens = storedOuraTokens(env.WEARHOOK_CONFIG_DIR!, 'oura-p007');
    expect(tokens && oura.isAccessTokenValid(tokens.access_token)).toBe(true);
    const rows = await query<Record<string, unknown>>('SELECT * FROM enrolment_invites');
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(rows)).not.toContain(tokens!.access_token);
    expect(rows[0]).toMatchObject({ label: 'P007', enrolled_user_id: 'oura-p007', state_sha256: null });

    // The waiting delivery is fetched as soon as the user has enrolled.
    await listen.waitForLine((l) => l.type === 'work' && l.user_id === 'oura-p007' && l.status === 'processed', 'the delivery processed after enrolment');
    expect(await query('SELECT id, user_id FROM documents WHERE provider = ?', 'oura')).toEqual([{ id: 'sleep-p007', user_id: 'oura-p007' }]);
  });

  it('the enrolled participant: auth list shows the label, a sync works, the used link is refused', async () => {
    expect(invite, 'the enrolment above').toBeDefined();
    const list = await runCli(['auth', 'list', '--json'], { env });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ user_id: 'oura-p007', label: 'P007', status: 'ok' })]);
    const sync = await runCli(['sync', '--from', '2026-03-01', '--to', '2026-03-03', '--label', 'P007', '--json'], { env });
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).users).toEqual([expect.objectContaining({ user_id: 'oura-p007', label: 'P007', ok: true })]);

    // Used: the same link again is refused, and nothing changes.
    const before = tokenRequests();
    const again = await browse(invite.url);
    expect(again.status).toBe(403);
    expect(again.page).toContain('This link was already used');
    expect(tokenRequests()).toBe(before);
    expect(storedOuraTokens(env.WEARHOOK_CONFIG_DIR!, 'oura-p007')).toEqual(tokens);
  });

  it('an expired, a forged or a declined link changes nothing; a declined one works when tried again', async () => {
    oura.addUser({ id: 'oura-p008', email: 'p008@example.com' });
    const expired = await runOp(env.WEARHOOK_DB!, createInviteOp, { label: 'P008', publicUrl: proxy.url, now: new Date(Date.now() - 8 * 86_400_000) });
    const fresh = await runOp(env.WEARHOOK_DB!, createInviteOp, { label: 'P008', publicUrl: proxy.url, ttlMs: 3_600_000 });
    const authorizations = oura.requestsTo('/oauth/authorize').length;
    const tokensBefore = tokenRequests();

    const late = await browse(expired.url);
    expect([late.status, late.page.includes('This link has expired')]).toEqual([403, true]);
    const forged = await browse(`${proxy.url}/enroll/${'A'.repeat(43)}`);
    expect([forged.status, forged.page.includes('This enrolment link is not valid')]).toEqual([404, true]);
    const forgedCallback = await browse(`${proxy.url}/oauth/callback?code=stolen&state=made-up`);
    expect([forgedCallback.status, forgedCallback.page.includes('does not belong to an enrolment in progress')]).toEqual([400, true]);
    expect(oura.requestsTo('/oauth/authorize')).toHaveLength(authorizations);

    oura.consent = { userId: 'oura-p008', deny: true };
    const declined = await browse(fresh.url);
    expect([declined.status, declined.page.includes('You did not allow the study to read your Oura data')]).toEqual([400, true]);
    // Nothing was stored for P008 by any of them.
    expect(tokenRequests()).toBe(tokensBefore);
    expect(storedOuraTokens(env.WEARHOOK_CONFIG_DIR!, 'oura-p008')).toBeUndefined();
    expect(await query('SELECT user_id FROM users WHERE user_id = ?', 'oura-p008')).toEqual([]);
    expect(await query('SELECT used_at FROM enrolment_invites WHERE label = ?', 'P008')).toEqual([{ used_at: null }, { used_at: null }]);

    oura.consent = { userId: 'oura-p008' };
    expect((await browse(fresh.url)).page).toContain('You are enrolled');
    expect(await query('SELECT label FROM participant_accounts WHERE user_id = ?', 'oura-p008')).toEqual([{ label: 'P008' }]);
  });

  it('participants invite without a running listen or --public-url says how to get one (exit 2)', async () => {
    const res = await runCli(['--db', await testDatabase(dir, undefined, 'other.db'), 'participants', 'invite', 'P009'], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^error: No public URL to put the link on: .*`wearhook listen --public-url https:\/\/your\.domain`.*or pass --public-url URL\.\n$/);
  });

  it('a consent begun at one receiver ends at another: its state is in the database, its PKCE verifier derived from it', async () => {
    oura.addUser({ id: 'oura-p010', email: 'p010@example.com' });
    oura.consent = { userId: 'oura-p010' };
    const { url } = await runOp(env.WEARHOOK_DB!, createInviteOp, { label: 'P010', publicUrl: proxy.url });
    const first = listen;
    // The participant opens the link: this receiver sends them to Oura, Oura sends them back.
    const toOura = await fetch(url, { redirect: 'manual' });
    expect(toOura.status).toBe(302);
    const authorize = new URL(toOura.headers.get('location')!);
    const fromOura = await fetch(authorize, { redirect: 'manual' });
    const callback = fromOura.headers.get('location')!;
    expect(callback.startsWith(`${proxy.url}/oauth/callback?`)).toBe(true);
    await first.waitForLine((l) => l.type === 'enrolment' && l.status === 'consent' && l.label === 'P010', 'the consent at the first receiver');

    // Oura's answer reaches another receiver of the database: on PostgreSQL one running beside
    // the first behind the same public URL; on SQLite (one receiver per file) the next run.
    if (!onPostgres) await first.stop('SIGTERM');
    const second = onPostgres ? await startListen(env, ['--public-url', proxy.url]) : await startBehindProxy();
    listen = second;
    try {
      proxy.forwardTo(second.url);
      const done = await browse(callback);
      expect([done.status, done.page.includes('You are enrolled')]).toEqual([200, true]);
      await second.waitForLine((l) => l.type === 'enrolment' && l.status === 'enrolled' && l.label === 'P010', 'the enrolment at the second receiver');
      // The look-alike enforces PKCE: the second receiver sent the verifier of the first one's challenge.
      const verifier = oura.requestsTo('/oauth/token').at(-1)!.form!.code_verifier!;
      expect(createHash('sha256').update(verifier).digest('base64url')).toBe(authorize.searchParams.get('code_challenge'));
      expect(await query('SELECT label FROM participant_accounts WHERE user_id = ?', 'oura-p010')).toEqual([{ label: 'P010' }]);
      expect(storedOuraTokens(env.WEARHOOK_CONFIG_DIR!, 'oura-p010')).toBeDefined();
    } finally {
      if (onPostgres) await first.stop('SIGTERM');
    }
  });
});
