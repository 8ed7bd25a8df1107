import { PassThrough } from 'node:stream';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Output } from '../src/cli/output.js';
import { LiveLog } from '../src/receiver/live-log.js';
import { runCli } from './helpers/cli.js';
import { send, startTestReceiver, type TestReceiver } from './helpers/receiver.js';
import { standardHeaders, TEST_SECRETS } from './helpers/signing.js';

/** Text from the wire never reaches a terminal raw: control characters are shown escaped in every human-readable output. */

// C0 controls but \n, DEL, C1 controls, bidirectional overrides and isolates.
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

let t: TestReceiver | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function capture(): { output: Output; text: () => string } {
  let text = '';
  const stream = new PassThrough();
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  const output = new Output({ color: false }, stream as unknown as NodeJS.WriteStream, stream as unknown as NodeJS.WriteStream);
  return { output, text: () => text };
}

describe('control characters from the wire', () => {
  it('are escaped in the listen log, events list and events show', async () => {
    const { output, text } = capture();
    const log = new LiveLog(output, false);
    t = await startTestReceiver({ onEvent: (e) => log.event(e) });
    // The escapes first: events list may shorten a long event to fit the terminal.
    const eventType = '\u001b[2J\u001b]0;owned\u0007sleep.created';
    const userId = 'user\u009b31m\u202eevil\rX';
    const body = JSON.stringify({ type: eventType, data: { user_id: userId } });
    const answer = await send(`${t.receiver.url}/standard`, { headers: { ...standardHeaders(TEST_SECRETS.standard, 'msg_ctl', body), 'x-note': 'a\u0085b' }, body });
    expect(answer.status).toBe(200);
    await t.receiver.idle();
    // A rejected request's path and reason come from the sender too.
    await send(`${t.receiver.url}/nowhere%1B%5B2J`, { body: '{}' });

    expect(text()).not.toMatch(RAW_CONTROL);
    expect(text()).toContain('\\x1b[2J\\x1b]0;owned\\x07sleep.created');
    expect(text()).toContain('user\\x9b31m\\u202eevil\\rX');

    const env = { WEARHOOK_CONFIG_DIR: path.dirname(t.dbFile), WEARHOOK_DB: t.dbFile };
    const list = await runCli(['events', 'list'], { env });
    const show = await runCli(['events', 'show', String(answer.json().id)], { env });
    for (const result of [list, show]) {
      expect(result.code).toBe(0);
      expect(result.stdout).not.toMatch(RAW_CONTROL);
      expect(result.stdout).toContain('\\x1b[2J');
    }
    expect(show.stdout).toContain('x-note: a\\x85b');
    // Machine output keeps the exact values.
    const json = JSON.parse((await runCli(['--json', 'events', 'show', String(answer.json().id)], { env })).stdout);
    expect([json.event_type, json.user_id]).toEqual([eventType, userId]);
  });
});
