import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { nowSeconds, standardHeaders, TEST_SECRETS } from '../helpers/signing.js';
import { post, standardEvent, storedRows, waitFor } from './deliveries.js';
import { record } from './report.js';

/**
 * Hostile and unlucky clients against `wearhook listen` with 256 file descriptors, while a real
 * sender keeps delivering: 400 sockets sending 1 MB bodies without signature headers, 200 with
 * well-formed but false signatures, 3000 idle connections (kept alive after a request, or never
 * used), slow headers and slow bodies. Every real delivery must be acknowledged at its first
 * attempt, memory must stay bounded, and every hostile connection must be closed in bounded time.
 */

const UNSIGNED = 400;
const FALSE_SIGNATURE = 200;
const IDLE = 3000;
const SLOW_HEADERS = 30;
const SLOW_BODIES = 30;
const MIB = 1024 * 1024;

let listener: ListenProcess | undefined;
let dir: string | undefined;
const sockets = new Set<net.Socket>();
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await listener?.stop('SIGKILL');
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function hasPrlimit(): boolean {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resident memory of a process in MiB: now, and the peak since it started. */
function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Hostile {
  socket: net.Socket;
  opened: number;
  closedAfterMs?: number;
  answer: string;
}

describe('hostile clients with 256 file descriptors', () => {
  it.skipIf(!hasPrlimit())('keeps acknowledging real deliveries, keeps memory bounded and closes every hostile connection in bounded time', async () => {
    dir = tempDir('wearhook-hostile-');
    const env = { WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard, WEARHOOK_CONFIG_DIR: path.join(dir, 'config'), WEARHOOK_DB: path.join(dir, 'wearhook.db') };
    listener = await startListen(env, [], { prefix: ['prlimit', '--nofile=256:256', '--'] });
    const pid = listener.child.pid!;
    const { port } = new URL(listener.url);
    const before = memory(pid);

    const open = (first?: string | Buffer): Promise<Hostile> =>
      new Promise((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1');
        sockets.add(socket);
        const h: Hostile = { socket, opened: Date.now(), answer: '' };
        socket.on('data', (d) => (h.answer += d.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => {
          h.closedAfterMs = Date.now() - h.opened;
          sockets.delete(socket);
        });
        socket.on('connect', () => {
          if (first) socket.write(first);
          resolve(h);
        });
      });

    // The real sender: a signed delivery every 25 ms for the whole run, each sent once.
    let sending = true;
    const real = { sent: 0, acknowledged: 0, failures: [] as string[] };
    const sender = (async () => {
      for (let n = 0; sending; n++) {
        const delivery = standardEvent(`msg_real_${n}`, n);
        real.sent++;
        const outcome = await post(listener!.url, delivery);
        if (outcome.status === 200) real.acknowledged++;
        else real.failures.push(`${delivery.key}: ${outcome.status ?? ('error' in outcome ? outcome.error : '')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    const megabyte = Buffer.alloc(MIB, 0x61);
    const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;
    const unsigned: Hostile[] = [];
    for (let i = 0; i < UNSIGNED; i++) {
      const h = await open(head(['POST /standard HTTP/1.1', 'Host: 127.0.0.1', `Content-Length: ${MIB + 10}`]));
      h.socket.write(megabyte); // and the last 10 bytes never come
      unsigned.push(h);
    }
    const falseSignature: Hostile[] = [];
    for (let i = 0; i < FALSE_SIGNATURE; i++) {
      const forged = standardHeaders(TEST_SECRETS.standard, `msg_forged_${i}`, 'not this body', { seconds: nowSeconds() });
      const h = await open(head(['POST /standard HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(forged).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${MIB}`]));
      h.socket.write(megabyte);
      falseSignature.push(h);
    }
    const idle: Hostile[] = [];
    for (let i = 0; i < IDLE; i++) idle.push(await open(i % 2 === 0 ? head(['GET /healthz HTTP/1.1', 'Host: 127.0.0.1']) : undefined));
    const slowHeaders: Hostile[] = [];
    const slowBodies: Hostile[] = [];
    const dribbles: NodeJS.Timeout[] = [];
    for (let i = 0; i < SLOW_HEADERS; i++) {
      const h = await open('POST /standard HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      dribbles.push(setInterval(() => h.socket.write('a'), 1_000));
      slowHeaders.push(h);
    }
    for (let i = 0; i < SLOW_BODIES; i++) {
      const signed = standardHeaders(TEST_SECRETS.standard, `msg_slow_${i}`, '{}');
      const h = await open(head(['POST /standard HTTP/1.1', 'Host: 127.0.0.1', ...Object.entries(signed).map(([k, v]) => `${k}: ${v}`), 'Content-Length: 100000']));
      dribbles.push(setInterval(() => h.socket.write('{'), 1_000));
      slowBodies.push(h);
    }
    const all = [...unsigned, ...falseSignature, ...idle, ...slowHeaders, ...slowBodies];
    try {
      // Request 30 s, headers 10 s, idle 10 s, keep-alive 5 s: everything is closed well within 45 s.
      await waitFor(() => all.every((h) => h.closedAfterMs !== undefined), 'every hostile connection closed', 45_000);
    } finally {
      for (const timer of dribbles) clearInterval(timer);
      sending = false;
      await sender;
    }
    const after = memory(pid);

    expect(real.failures).toEqual([]);
    expect(real.acknowledged).toBe(real.sent);
    expect(listener.child.exitCode).toBeNull();
    expect(unsigned.every((h) => /^HTTP\/1\.1 401 /.test(h.answer) || h.answer === '')).toBe(true);
    expect(unsigned.filter((h) => /^HTTP\/1\.1 401 /.test(h.answer)).length).toBeGreaterThan(0);
    expect(falseSignature.every((h) => !/^HTTP\/1\.1 2/.test(h.answer))).toBe(true);
    expect(Math.max(...slowHeaders.map((h) => h.closedAfterMs!))).toBeLessThan(15_000);
    expect(Math.max(...slowBodies.map((h) => h.closedAfterMs!))).toBeLessThan(35_000);
    // 600 MB were sent at it; what it holds stays near what it held at start.
    expect(after.peak - before.rss).toBeLessThan(150);
    const stored = storedRows(env.WEARHOOK_DB);
    expect(stored).toHaveLength(real.acknowledged);

    record('hostile_clients', {
      file_descriptors: 256,
      unsigned_1mb_bodies: UNSIGNED,
      false_signature_1mb_bodies: FALSE_SIGNATURE,
      idle_connections: IDLE,
      slow_headers: SLOW_HEADERS,
      slow_bodies: SLOW_BODIES,
      real_deliveries_sent: real.sent,
      real_deliveries_acknowledged_first_time: real.acknowledged,
      rss_mib_at_start: Math.round(before.rss),
      peak_rss_mib: Math.round(after.peak),
      slowest_slow_header_closed_s: Math.round(Math.max(...slowHeaders.map((h) => h.closedAfterMs!)) / 1000),
      slowest_slow_body_closed_s: Math.round(Math.max(...slowBodies.map((h) => h.closedAfterMs!)) / 1000),
      last_idle_closed_s: Math.round(Math.max(...idle.map((h) => h.closedAfterMs!)) / 1000),
    }, { deliveries: real.sent, fuzz_cases: UNSIGNED + FALSE_SIGNATURE + IDLE + SLOW_HEADERS + SLOW_BODIES });
  });
});
