import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { DB } from '../src/store/db.js';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { upsertSubscription } from '../src/store/subscriptions.js';
import { ARTIFACTS, launchChromium } from './helpers/browser.js';
import { runCli, tempDir } from './helpers/cli.js';
import { onPostgres, queryRows, testDatabase } from './helpers/engine.js';
import { startListen, startNdjsonProcess, type ListenProcess } from './helpers/listen-process.js';
import { TEST_SECRETS } from './helpers/signing.js';
import { ouraNight, seedOuraParticipant, type SeededAccount } from './helpers/study-seed.js';
import { addParticipant, linkParticipantAccount } from '../src/participants/core.js';

/**
 * The web console as a person uses it, in Debian's Chromium: one browser for the file, one
 * database shared by a `listen --ui` (the live console in the receiver's process) and a
 * separate `wearhook ui` (the database as it is, written by another process). The live list and
 * a delivery's outbox, written by other processes, are read on SQLite and on PostgreSQL
 * (vitest.config.ts BOTH_ENGINES); the other pages (test/postgres/study.test.ts on PostgreSQL)
 * and the checks that read no store (flags, access, a tunnel's health) once, on SQLite.
 */
const noStore = test.skipIf(onPostgres);
/** The console's pages on PostgreSQL are test/postgres/study.test.ts's: here the live list and a delivery's outbox, once, on SQLite too. */
const pagesOnSqlite = test.skipIf(onPostgres);

/** The seeded study: 14 days of March 2026, with the gaps a real study has. */
const MARCH = Array.from({ length: 14 }, (_, i) => `2026-03-${String(i + 1).padStart(2, '0')}`);
const without = (days: string[], ...gone: number[]) => days.filter((_, i) => !gone.includes(i));
const STUDY: SeededAccount[] = [
  { label: 'P001', userId: 'oura-p001', sleepDays: without(MARCH, 4, 5), readinessDays: without(MARCH, 5), activityDays: MARCH },
  { label: 'P002', userId: 'oura-p002', sleepDays: MARCH.slice(0, 6), readinessDays: MARCH.slice(0, 6), activityDays: MARCH.slice(0, 7) },
];

let dir: string;
let dbPath: string;
let env: Record<string, string>;
let listen: ListenProcess;
let liveConsole: string;
let ui: ListenProcess;
let uiConsole: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
/**
 * The app `listen --ui` forwards Vital deliveries to: it refuses the first (503), holds the
 * second attempt until the test lets it answer (204), and takes everything after that.
 */
let app: http.Server;
let appUrl: string;
const appSeen: string[] = [];
let letAppAnswer = () => {};
const appMayAnswer = new Promise<void>((resolve) => (letAppAnswer = resolve));

beforeAll(async () => {
  dir = tempDir('wearhook-ui-');
  dbPath = await testDatabase(dir, seedStudy);
  env = {
    WEARHOOK_DB: dbPath,
    WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
    WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
    WEARHOOK_SECRET_OPEN_WEARABLES: TEST_SECRETS['open-wearables'],
  };
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  app = http.createServer((req, res) => {
    appSeen.push(String(req.headers['svix-id']));
    req.resume();
    if (appSeen.length === 1) return void res.writeHead(503).end('warming up');
    void appMayAnswer.then(() => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}/hook`;
  [listen, ui, { browser, close: closeBrowser }] = await Promise.all([
    startListen(env, [
      '--ui', '--ui-port', '0', '--no-browser',
      '--forward-to', `vital=${appUrl}`, '--retry-base-ms', '100',
      '--exec', `vital=sh -c 'cat >/dev/null; echo hook saw $WEARHOOK_EVENT'`,
    ]),
    startNdjsonProcess(['ui', '--port', '0', '--no-browser', '--json'], env, 'ui'),
    launchChromium(),
  ]);
  liveConsole = (await listen.waitForLine((l) => l.type === 'ui', 'its ui line')).url as string;
  uiConsole = ui.url;
}, 60_000);

afterAll(async () => {
  letAppAnswer();
  await Promise.all([closeBrowser?.(), listen?.stop(), ui?.stop()]);
  app?.closeAllConnections();
  app?.close();
});

/** Three subscriptions (one to renew soon, one expired) and the study's two participants. */
function seedStudy(db: DB): void {
  const day = 86_400_000;
  const subs: [string, string, number][] = [
    ['sub-sleep', 'sleep', 60 * day],
    ['sub-readiness', 'daily_readiness', 3 * day],
    ['sub-activity', 'daily_activity', -2 * day],
  ];
  for (const [id, dataType, left] of subs) {
    upsertSubscription(
      db,
      { id, callback_url: 'https://hooks.example.org/oura', event_type: 'create', data_type: dataType, expiration_time: new Date(Date.now() + left).toISOString() },
      { createdByWearhook: true },
    );
  }
  for (const account of STUDY) {
    addParticipant(db, account.label, { tz: account.label === 'P001' ? 'Europe/Amsterdam' : null, start: MARCH[0] });
    linkParticipantAccount(db, { label: account.label, provider: 'oura', userId: account.userId });
    seedOuraParticipant(db, account, account.label.length);
  }
}

async function openPage(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems: string[] }).problems = problems;
  await page.goto(url);
  return page;
}

function problemsOf(page: Page): string[] {
  return (page as Page & { problems: string[] }).problems;
}

/** A request with a Host header of our choosing (a browser would not let us pick one). */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, body, type: String(res.headers['content-type'] ?? '') }));
    });
    req.on('error', reject);
  });
}

describe('the web console in a real browser', () => {
  test('a delivery stored by another process appears without reloading, live, and opens in full', async () => {
    const page = await openPage(`${uiConsole}deliveries`);
    await page.locator('#live.on').waitFor();
    await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));

    const sent = await runCli(['trigger', 'vital', '--to', listen.url], { env });
    expect(sent.code, sent.stderr).toBe(0);
    const row = page.locator('#deliveries tbody tr').first();
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('processed');
    expect(await row.locator('td').nth(2).textContent()).toBe('vital');
    expect(await row.locator('td.event').textContent()).toBe('daily.data.sleep.created');
    expect(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'deliveries.png') });

    await row.click();
    await page.waitForURL(/deliveries\/\d+$/);
    const id = Number(page.url().split('/').pop());
    await expect.poll(() => page.locator('#delivery-live').getAttribute('data-status')).toBe('processed');
    expect(await page.locator('h1').textContent()).toContain('daily.data.sleep.created');
    expect(await page.locator('.verification').textContent()).toContain('signature valid');
    expect(await page.locator('.headers').textContent()).toContain('svix-signature');
    const body = JSON.parse((await page.locator('#body').textContent())!) as { event_type: string };
    expect(body.event_type).toBe('daily.data.sleep.created');
    // The work: the sleep document it carried, now in the store.
    expect(await page.locator('section.work').textContent()).toMatch(/vital sleep .*stored.*version 1 of 1 \(current\)/s);

    // Its forward and hook, run by the listen process and read from the outbox: the app refused
    // the first attempt and holds the second; the hook ran once the work was done.
    const forward = page.locator('#outbox tr[data-kind=forward]');
    const hook = page.locator('#outbox tr[data-kind=hook]');
    await expect.poll(() => hook.getAttribute('data-status'), { timeout: 10_000 }).toBe('done');
    expect(await hook.textContent()).toMatch(/sh -c .*\(vital\).*done \(exit 0\) after 1 attempt.*exit 0.*hook saw daily\.data\.sleep\.created/s);
    await expect.poll(() => appSeen.length, { timeout: 10_000 }).toBe(2);
    expect(await forward.getAttribute('data-status')).toBe('pending');
    expect(await forward.textContent()).toMatch(new RegExp(`${appUrl.replace(/[.]/g, '\\.')}.*retrying at .* after 1 attempt.*HTTP 503: warming up.*HTTP 503`, 's'));
    // The app answers: the open page follows, without a reload.
    await page.evaluate(() => ((globalThis as unknown as { stayed: boolean }).stayed = true));
    letAppAnswer();
    await expect.poll(() => forward.getAttribute('data-status'), { timeout: 15_000 }).toBe('done');
    expect(await forward.textContent()).toMatch(/delivered \(204\) after 2 attempts/);
    expect(await forward.locator('ol.attempts li').allTextContents()).toEqual([expect.stringMatching(/ HTTP 503 \(.+\) HTTP 503: warming up$/), expect.stringMatching(/ HTTP 204 \(.+\)$/)]);
    expect(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed)).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'delivery.png'), fullPage: true });
    expect(problemsOf(page)).toEqual([]);
    expect(id).toBeGreaterThan(0);
    await page.close();
  });

  pagesOnSqlite('replay re-signed from a delivery\'s page: the receiver stores it anew, and the open list shows it live', async () => {
    const sent = await runCli(['trigger', 'open-wearables', 'series.heart_rate_variability_rmssd.created', '--to', listen.url], { env });
    expect(sent.code, sent.stderr).toBe(0);
    const list = await openPage(`${liveConsole}deliveries`);
    await list.locator('#live.on').waitFor();
    const original = Number(await list.locator('#deliveries tbody tr').first().getAttribute('data-id'));
    const detail = await openPage(`${liveConsole}deliveries/${original}`);
    expect(await detail.locator('#replay-form input[name=url]').inputValue()).toBe(`${listen.url}/open-wearables`);
    await detail.locator('#replay-form button').click();
    await detail.locator('#replay-result[data-status="200"]').waitFor();
    const copy = Number((await detail.locator('#replayed-delivery').textContent())!.slice(1));
    expect(copy).toBeGreaterThan(original);
    expect(await detail.locator('#replay-result').textContent()).toContain('re-signed replay');
    // The list, open all along, shows the new delivery without a reload.
    await list.locator(`#d-${copy}`).waitFor();
    expect(await list.locator(`#d-${copy} td.event`).textContent()).toBe('series.heart_rate_variability_rmssd.created');
    await detail.screenshot({ path: path.join(ARTIFACTS, 'replay.png'), fullPage: true });

    // Byte-exact: the original signature and id, which the receiver already holds.
    await detail.locator('#replay-form input[value=exact]').check();
    await detail.locator('#replay-form button').click();
    await expect.poll(() => detail.locator('#replay-result').textContent()).toMatch(/byte-exact replay.*a duplicate of #\d+/s);
    expect(await detail.locator('#replayed-delivery').textContent()).toBe(`#${original}`);
    expect([...problemsOf(list), ...problemsOf(detail)]).toEqual([]);
    await Promise.all([list.close(), detail.close()]);
  });

  pagesOnSqlite('the filters narrow the list, and a new delivery that does not match stays out', async () => {
    const page = await openPage(`${liveConsole}deliveries?provider=open-wearables&event=sleep.*`);
    await page.locator('#live.on').waitFor();
    expect(await page.locator('#deliveries tbody tr').count()).toBe(0);
    await runCli(['trigger', 'vital', 'daily.data.activity.created', '--to', listen.url], { env });
    const sent = await runCli(['trigger', 'open-wearables', '--to', listen.url], { env });
    expect(sent.code, sent.stderr).toBe(0);
    await expect.poll(() => page.locator('#deliveries tbody tr').count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.locator('#deliveries tbody tr').getAttribute('data-status')).toBe('processed');
    expect(await page.locator('#deliveries tbody td.event').textContent()).toBe('sleep.created');
    // listen --ui knows how long its answer took.
    expect(await page.locator('#deliveries tbody td.num').first().textContent()).toMatch(/\d+ ms/);

    await page.goto(`${liveConsole}deliveries?q=activity`);
    expect(await page.locator('#deliveries tbody td.event').allTextContents()).toEqual(['daily.data.activity.created']);
    await page.goto(`${liveConsole}deliveries?event=*.created&provider=vital`);
    expect((await page.locator('#deliveries tbody td.event').allTextContents()).sort()).toEqual(['daily.data.activity.created', 'daily.data.sleep.created']);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  pagesOnSqlite('subscriptions with their expiry, and the receiver of a listen --ui run', async () => {
    const page = await openPage(`${liveConsole}subscriptions`);
    const rows = page.locator('#subscriptions tbody tr');
    expect(await rows.count()).toBe(3);
    const text = (await page.locator('#subscriptions').textContent())!;
    expect(text).toMatch(/sub-readiness.*renew soon/s);
    expect(text).toMatch(/sub-activity.*expired/s);
    expect(await page.locator('#tunnel').textContent()).toContain(listen.url);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  noStore('the public URL and its health, live from the run that holds them', async () => {
    const { startConsole } = await import('../src/ui/server.js');
    const { LiveFeed } = await import('../src/ui/live.js');
    const { Settings } = await import('../src/config/settings.js');
    const live = new LiveFeed();
    live.receiverUrl = 'http://127.0.0.1:8787';
    live.setTunnel({ publicUrl: 'https://quiet-fox.example.org', state: 'up', since: new Date().toISOString() });
    const server = await startConsole({ dbPath, settings: new Settings(), port: 0, live });
    try {
      const page = await openPage(`${server.url}subscriptions`);
      await page.locator('#live.on').waitFor();
      expect(await page.locator('#tunnel').textContent()).toMatch(/quiet-fox\.example\.org.*reaches this run/s);
      await page.screenshot({ path: path.join(ARTIFACTS, 'subscriptions.png'), fullPage: true });
      live.setTunnel({ publicUrl: 'https://quiet-fox.example.org', state: 'down', since: new Date().toISOString(), reason: 'no answer within 10 s' });
      await expect.poll(() => page.locator('#tunnel').textContent()).toMatch(/DOWN.*no answer within 10 s/s);
      expect(problemsOf(page)).toEqual([]);
      await page.close();
    } finally {
      await server.close();
    }
  });

  noStore('the console never takes the receiver\'s port, and --ui-port needs --ui', async () => {
    const same = await runCli(['listen', '--port', '4567', '--ui', '--ui-port', '4567', '--no-browser'], { env });
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/port of its own/);
    const stray = await runCli(['listen', '--port', '0', '--ui-port', '4567'], { env });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toMatch(/--ui-port only applies with --ui/);
  });

  pagesOnSqlite('the heatmap of the seeded study: every cell as the database has it', async () => {
    const page = await openPage(`${uiConsole}participants?from=2026-03-01&to=2026-03-14`);
    const cells = page.locator('#heatmap td.cell');
    expect(await cells.count()).toBe(STUDY.length * MARCH.length);
    // What arrived, per participant and day, read from the database independently of the console.
    const kinds: Record<string, string> = { sleep: 'sleep', daily_readiness: 'readiness', daily_activity: 'activity' };
    const stored = await queryRows<{ user_id: string; type: string; day: string }>(dbPath, 'SELECT user_id, type, day FROM documents WHERE provider = ? AND deleted = 0', ['oura']);
    for (const account of STUDY) {
      for (const day of MARCH) {
        const expected = Object.keys(kinds)
          .filter((type) => stored.some((d) => d.user_id === account.userId && d.type === type && d.day === day))
          .map((type) => kinds[type]);
        const cell = page.locator(`#heatmap td.cell[data-participant="${account.label}"][data-day="${day}"]`);
        expect((await cell.getAttribute('data-arrived'))!.split(',').filter(Boolean), `${account.label} ${day}`).toEqual(expected);
      }
    }
    // P002 stopped after 7 March: two empty days in a row raise no_data_2d.
    expect(await page.locator('#heatmap td.cell[data-participant="P002"][data-day="2026-03-09"]').getAttribute('data-flags')).toContain('no_data_2d');
    expect(await page.locator('#heatmap td.cell.flagged').count()).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'participants.png'), fullPage: true });
    await page.locator('#heatmap tr[data-participant="P001"] th a').click();
    await page.waitForURL(/participants\/P001/);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  pagesOnSqlite('a participant\'s charts: every night, score and 5-minute stage of the database drawn', async () => {
    const p001 = STUDY[0]!;
    const page = await openPage(`${uiConsole}participants/P001?from=2026-03-01&to=2026-03-14`);
    await page.locator('#chart-hypnogram[data-drawn]').waitFor();
    const drawn: Record<string, unknown> = {};
    for (const chart of await page.locator('[data-chart]').all()) {
      drawn[(await chart.getAttribute('data-chart'))!] = JSON.parse((await chart.getAttribute('data-drawn')) ?? 'null');
    }
    const nights = p001.sleepDays.length;
    expect(drawn.nights).toEqual({ awake: nights, REM: nights, light: nights, deep: nights });
    expect(drawn.trend).toEqual({ hrv: nights, rhr: nights });
    expect(drawn.scores).toEqual({ readiness: p001.readinessDays.length, activity: p001.activityDays.length });
    // The newest night by default: one stage per 5 minutes of its sleep_phase_5_min.
    const last = ouraNight(p001.userId, p001.sleepDays.at(-1)!, p001.label.length + nights - 1);
    expect(drawn.hypnogram).toEqual({ stage: last.sleep_phase_5_min.length });
    // In the participant's local time: the night starts at the wall-clock time of bedtime_start, whatever the browser's zone.
    const firstX = (await page.evaluate('wearhookCharts.hypnogram.data[0][0]')) as number;
    expect(new Date(firstX * 1000).toISOString().slice(0, 19)).toBe(last.bedtime_start.slice(0, 19));
    for (const canvas of await page.locator('[data-chart] canvas').all()) expect(await canvas.boundingBox()).not.toBeNull();
    await page.screenshot({ path: path.join(ARTIFACTS, 'participant.png'), fullPage: true });
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  noStore('access: without the token, with a foreign Host, or on the receiver port, no console', async () => {
    const { origin, pathname } = new URL(liveConsole);
    const port = new URL(liveConsole).port;
    expect((await get(`${origin}/deliveries`)).status).toBe(403);
    expect((await get(`${origin}/`)).status).toBe(403);
    expect((await get(`${origin}/${'x'.repeat(43)}/deliveries`)).status).toBe(403);
    expect((await get(`${origin}${pathname}deliveries`)).status).toBe(200);
    expect((await get(`${origin}${pathname}deliveries`, { host: `localhost:${port}` })).status).toBe(200);
    // DNS rebinding: the right token, a foreign name.
    expect((await get(`${origin}${pathname}deliveries`, { host: `attacker.example:${port}` })).status).toBe(403);
    expect((await get(`${origin}${pathname}deliveries`, { host: `127.0.0.1:${Number(port) + 1}` })).status).toBe(403);
    // The receiver's port serves the receiver only.
    expect(new URL(listen.url).port).not.toBe(port);
    for (const target of [`${listen.url}${pathname}deliveries`, `${listen.url}${pathname}`, `${listen.url}/`]) {
      const answer = await get(target);
      expect(answer.status).toBe(404);
      expect(answer.type).not.toContain('text/html');
    }
  });

  test('SIGTERM stops the console and the receiver with it, exit 0', async () => {
    const [uiCode, listenCode] = await Promise.all([ui.stop('SIGTERM'), listen.stop('SIGTERM')]);
    expect(uiCode).toBe(0);
    expect(listenCode).toBe(0);
    expect(listen.lines().at(-1)?.type).toBe('stopped');
    await expect(get(liveConsole)).rejects.toThrow(/ECONNREFUSED/);
  });
});
