import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers/cli.js';
import { FAKE_CLIENT_ID, FAKE_CLIENT_SECRET, startFakeOuraSubs, type FakeOuraSubs } from './helpers/oura-subs-fake.js';
import { runOnTerminal, shellQuote } from './helpers/terminal.js';
import { upsertSubscription } from '../src/store/subscriptions.js';
import { onPostgres, queryRows, testDatabase } from './helpers/engine.js';

/**
 * Runs on SQLite and on PostgreSQL (vitest.config.ts BOTH_ENGINES): the prompt itself once; a
 * delete after a yes, which removes the stored subscription too, on both.
 */

const DAY = 86_400_000;

/** The CLI on a pseudo-terminal, `answer` typed at the prompt. */
function runCliOnTerminal(args: string[], answer: string, env: Record<string, string>) {
  return runOnTerminal([process.execPath, BIN, ...args].map(shellQuote).join(' '), { NO_COLOR: '1', ...env }, answer);
}

describe('subs delete on a terminal', () => {
  let oura: FakeOuraSubs;
  let env: Record<string, string>;
  beforeEach(async () => {
    oura = await startFakeOuraSubs();
    const dir = tempDir('wearhook-subs-tty-');
    const subs = [
      oura.add({ callback_url: 'https://a.example/oura', event_type: 'create', data_type: 'sleep', inMs: 50 * DAY }),
      oura.add({ callback_url: 'https://a.example/oura', event_type: 'update', data_type: 'sleep', inMs: 50 * DAY }),
    ];
    env = {
      WEARHOOK_CONFIG_DIR: dir,
      // The store knows both, as after a `subs list`.
      WEARHOOK_DB: await testDatabase(dir, (db) => subs.forEach((sub) => upsertSubscription(db, sub))),
      OURA_CLIENT_ID: FAKE_CLIENT_ID,
      OURA_CLIENT_SECRET: FAKE_CLIENT_SECRET,
      WEARHOOK_OURA_API_URL: oura.url,
    };
  });
  afterEach(async () => oura.close());

  it.skipIf(onPostgres)('asks before deleting; anything but yes deletes nothing and exits 1', async () => {
    const res = await runCliOnTerminal(['subs', 'delete', '--all'], 'n\n', env);
    expect(res.output).toContain('Delete 2 subscriptions? [y/N]');
    expect(res.output).toContain('Aborted: nothing was deleted.');
    expect(res.code).toBe(1);
    expect(oura.subscriptions.size).toBe(2);
  });

  it('deletes after a yes', async () => {
    const id = [...oura.subscriptions.keys()][0]!;
    const res = await runCliOnTerminal(['subs', 'delete', id], 'y\n', env);
    expect(res.output).toContain(`Delete subscription ${id}? [y/N]`);
    expect(res.output).toContain(`deleted  ${id}`);
    expect(res.code).toBe(0);
    expect(oura.subscriptions.has(id)).toBe(false);
    expect(oura.subscriptions.size).toBe(1);
    expect(await queryRows(env.WEARHOOK_DB!, 'SELECT id FROM subscriptions')).toEqual([{ id: [...oura.subscriptions.keys()][0] }]);
  });

  it.skipIf(onPostgres)('does not ask with --yes', async () => {
    const res = await runCliOnTerminal(['subs', 'delete', '--all', '--yes'], '', env);
    expect(res.output).not.toContain('[y/N]');
    expect(res.code).toBe(0);
    expect(oura.subscriptions.size).toBe(0);
  });
});
