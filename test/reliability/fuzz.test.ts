import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/db.js';
import { buildPayload } from '../../src/trigger/payloads.js';
import { tempDir } from '../helpers/cli.js';
import { startListen, type ListenProcess } from '../helpers/listen-process.js';
import { startOuraFake, type OuraFake } from '../helpers/oura-fake.js';
import { corsanoHeaders, nowSeconds, ouraHeaders, standardHeaders, TEST_SECRETS } from '../helpers/signing.js';
import { random, record, SEED } from './report.js';

/**
 * Random and malformed requests against `wearhook listen`: methods, routes, headers,
 * signatures, timestamps, bodies, sizes, broken HTTP on raw sockets, and slow clients, mixed
 * with valid deliveries. Afterwards the receiver must still answer, must never have answered
 * 5xx or 2xx to something it could not verify, and every row it stored must verify with the
 * senders' secrets, checked here independently of wearhook's own code.
 */

const CASES = 5_000;
const RAW_CASES = 800;
const SLOWLORIS = 30;
const SLOW_DELIVERIES = 12;
const WORKERS = 8;

type Route = '/oura' | '/vital' | '/open-wearables' | '/standard' | '/corsano';
const ROUTES: Route[] = ['/oura', '/vital', '/open-wearables', '/standard', '/corsano'];
const STANDARD_SECRET: Record<string, string> = { '/vital': TEST_SECRETS.vital, '/open-wearables': TEST_SECRETS['open-wearables'], '/standard': TEST_SECRETS.standard };

interface Signed {
  route: Route;
  headers: Record<string, string>;
  body: Buffer;
}

let fake: OuraFake | undefined;
let listener: ListenProcess | undefined;
let dir: string | undefined;
const sockets = new Set<net.Socket>();
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await listener?.stop('SIGKILL');
  await fake?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('fuzzing the receiver', () => {
  it('keeps answering, never answers 5xx, and stores only what verifies', async () => {
    const rng = random(SEED + 1);
    fake = await startOuraFake();
    dir = tempDir('wearhook-fuzz-');
    const dbFile = path.join(dir, 'wearhook.db');
    listener = await startListen({
      ...fake.env(),
      OURA_CLIENT_SECRET: TEST_SECRETS.oura,
      WEARHOOK_SECRET_VITAL: TEST_SECRETS.vital,
      WEARHOOK_SECRET_OPEN_WEARABLES: TEST_SECRETS['open-wearables'],
      WEARHOOK_SECRET_STANDARD: TEST_SECRETS.standard,
      WEARHOOK_SECRET_CORSANO: TEST_SECRETS.corsano,
      WEARHOOK_CONFIG_DIR: path.join(dir, 'config'),
      WEARHOOK_DB: dbFile,
    });
    const { url } = listener;
    const port = Number(new URL(url).port);
    let serial = 0;

    /** A valid delivery for a route, unique unless `repeat` gives one to send again. */
    const valid = (route: Route): Signed => {
      const n = serial++;
      if (route === '/oura') {
        const body = JSON.stringify({ event_type: rng.pick(['create', 'update', 'delete']), data_type: rng.pick(['sleep', 'daily_activity', 'meal']), object_id: `obj-${n}`, event_time: '2026-03-02T07:45:00+00:00', user_id: 'fuzz-user' });
        return { route, headers: ouraHeaders(TEST_SECRETS.oura, body, { lowerCase: rng.next() < 0.3 }), body: Buffer.from(body) };
      }
      if (route === '/corsano') {
        const body = JSON.stringify(buildPayload('corsano', rng.pick(['activity', 'temperature', 'test']), { now: new Date(), offsetMinutes: 60, userId: `c-${n}` }));
        return { route, headers: corsanoHeaders(TEST_SECRETS.corsano, body, { encoding: rng.pick(['hex', 'base64'] as const) }), body: Buffer.from(body) };
      }
      const payload =
        route === '/vital'
          ? buildPayload('vital', rng.pick(['daily.data.sleep.created', 'daily.data.activity.created']), { now: new Date(), offsetMinutes: 60, userId: `v-${n}` })
          : route === '/open-wearables'
            ? buildPayload('open-wearables', rng.pick(['sleep.created', 'series.heart_rate_variability_rmssd.created']), { now: new Date(), offsetMinutes: -300, userId: `ow-${n}` })
            : { type: 'fuzz.valid', n };
      const body = JSON.stringify(payload);
      return { route, headers: standardHeaders(STANDARD_SECRET[route]!, `msg_fuzz_${n}`, body, { brand: rng.pick(['webhook', 'svix'] as const) }), body: Buffer.from(body) };
    };
    const validSent: Signed[] = [];
    /** Bodies sent signed but nested too deep (never to be stored), and valid ones with a byte order mark (to be worked on). */
    const deepSent: string[] = [];
    const bomSent: string[] = [];

    const stats = {
      cases: 0,
      by_kind: {} as Record<string, number>,
      answers: {} as Record<string, number>,
      valid_sent: 0,
      slow_deliveries: 0,
      abandoned_slow_deliveries: 0,
    };
    const failures: string[] = [];
    const check = (kind: string, status: number | null, expect2xx: boolean | null) => {
      stats.cases++;
      const coarse = kind.split(' ')[0]!;
      stats.by_kind[coarse] = (stats.by_kind[coarse] ?? 0) + 1;
      const key = status === null ? 'no answer' : String(status);
      stats.answers[key] = (stats.answers[key] ?? 0) + 1;
      if (status !== null && status >= 500) failures.push(`${kind}: answered ${status}`);
      if (expect2xx === true && (status === null || status < 200 || status >= 300)) failures.push(`${kind}: a valid delivery got ${status}`);
      if (expect2xx === false && status !== null && status >= 200 && status < 300) failures.push(`${kind}: answered ${status} to something it cannot have verified`);
    };

    const send = async (target: string, method: string, headers: Record<string, string>, body?: Buffer | string): Promise<number | null> => {
      try {
        const res = await request(`${url}${target}`, { method: method as 'POST', headers, body, headersTimeout: 20_000, bodyTimeout: 20_000 });
        await res.body.dump();
        return res.statusCode;
      } catch {
        return null; // refused at the HTTP level (connection closed): not an acceptance
      }
    };

    const mutateBytes = (body: Buffer): Buffer => {
      const copy = Buffer.from(body);
      const at = rng.int(0, copy.length - 1);
      copy[at] = (copy[at]! + rng.int(1, 255)) % 256;
      return copy;
    };
    /**
     * One character changed; never only its case, which a hex signature may change freely. A
     * signature keeps its last two characters: base64 of a 32-byte MAC ends in a character whose
     * low bits are not part of the MAC, then optional padding, so a change there can leave the
     * MAC itself as it was (Corsano's signature is accepted with or without its `=`).
     */
    const mutateText = (text: string, keepLast = 0): string => {
      const at = rng.int(0, Math.max(0, text.length - 1 - keepLast));
      const replacement = rng.pick(['A', '0', 'f', '+', '=', ' ', ',', '']);
      const next = text.slice(0, at) + replacement + text.slice(at + 1);
      return next.toLowerCase() === text.toLowerCase() ? `${text}0` : next;
    };
    const randomText = (max: number) => rng.bytes(rng.int(0, max)).toString('latin1').replace(/[\r\n\0]/g, 'x');

    /** One HTTP-level case: what it sends and whether a 2xx is required (true), forbidden (false) or either (null). */
    const cases: (() => Promise<void>)[] = [
      // Methods and routes.
      async () => {
        const method = rng.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'X-FUZZ']);
        const target = rng.pick([...ROUTES, '/healthz', '/', '/oura/', '/ouraa', '/OURA', `/${randomText(20).replace(/[^\w]/g, '')}`, `/vital?${'q'.repeat(rng.int(1, 3000))}`]);
        const status = await send(target, method, { 'content-type': 'application/json' }, method === 'GET' || method === 'HEAD' ? undefined : '{}');
        const okay = target === '/healthz' && (method === 'GET' || method === 'HEAD');
        check('method-route', status, okay ? true : false);
      },
      // Oura's challenge with wrong or missing parameters.
      async () => {
        const query = rng.pick(['', '?challenge=x', `?verification_token=${randomText(30).replace(/\W/g, '')}&challenge=c`, '?verification_token=&challenge=']);
        check('challenge', await send(`/oura${query}`, 'GET', {}), false);
      },
      // A valid delivery, sometimes one sent before (a duplicate: 2xx again, stored once).
      async () => {
        const signed = validSent.length > 0 && rng.next() < 0.15 ? rng.pick(validSent) : valid(rng.pick(ROUTES));
        const fresh = { ...signed, headers: resign(signed) };
        if (!validSent.includes(signed)) validSent.push(signed);
        stats.valid_sent++;
        check('valid', await send(signed.route, 'POST', fresh.headers, fresh.body), true);
      },
      // No signature headers at all, or only some of them.
      async () => {
        const signed = valid(rng.pick(ROUTES));
        const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name === 'content-type' || rng.next() < 0.4));
        const complete = Object.keys(headers).length === Object.keys(signed.headers).length;
        check('missing-headers', await send(signed.route, 'POST', complete ? { ...headers, [Object.keys(headers).find((h) => h !== 'content-type')!]: 'x' } : headers, signed.body), false);
      },
      // A signature that is garbage, long, empty, or of another version.
      async () => {
        const signed = valid(rng.pick(ROUTES));
        const name = Object.keys(signed.headers).find((h) => /signature/.test(h))!;
        const value = rng.pick([
          '',
          ' ',
          randomText(100),
          'v1,' + rng.bytes(32).toString('base64'),
          'v1a,' + rng.bytes(64).toString('base64'),
          'v2,' + signed.headers[name]!.replace(/^v1,/, ''),
          rng.bytes(32).toString('hex'),
          rng.bytes(32).toString('hex').toUpperCase(),
          'a'.repeat(rng.int(1, 8000)),
          `${rng.bytes(32).toString('hex')}, ${signed.headers[name]}`,
        ]);
        // Standard Webhooks signatures are a space-separated list: one good v1 entry among junk is a valid signature.
        const listWithGood = value.endsWith(` ${signed.headers[name]}`) && signed.headers[name]!.startsWith('v1,');
        const status = await send(signed.route, 'POST', { ...signed.headers, [name]: value }, signed.body);
        if (listWithGood && status === 200) validSent.push(signed);
        check(`bad-signature ${signed.route} ${value.slice(0, 12)}`, status, listWithGood ? true : false);
      },
      // Signed with a secret that is not the receiver's.
      async () => {
        const route = rng.pick(ROUTES);
        const body = JSON.stringify({ type: 'forged', data: { n: serial++ } });
        const headers =
          route === '/oura'
            ? ouraHeaders('not-the-secret', body)
            : route === '/corsano'
              ? corsanoHeaders('not-the-secret', body)
              : standardHeaders('whsec_' + rng.bytes(24).toString('base64'), `msg_forged_${serial}`, body);
        check('wrong-secret', await send(route, 'POST', headers, body), false);
      },
      // Timestamps outside the 5-minute window, or not a number: refused before anything else.
      async () => {
        const route = rng.pick(['/oura', '/vital', '/open-wearables', '/standard'] as const);
        const body = JSON.stringify({ type: 'stale', event_type: 'create', data_type: 'sleep', object_id: `t-${serial++}`, event_time: '2026-03-02T07:45:00+00:00', user_id: 'fuzz-user' });
        const seconds = rng.pick([nowSeconds() - rng.int(301, 10_000_000), nowSeconds() + rng.int(301, 10_000_000)]);
        const signedHeaders = route === '/oura' ? ouraHeaders(TEST_SECRETS.oura, body, { seconds }) : standardHeaders(STANDARD_SECRET[route]!, `msg_stale_${serial}`, body, { seconds });
        const tsHeader = Object.keys(signedHeaders).find((h) => /timestamp/.test(h))!;
        const headers = rng.next() < 0.3 ? { ...signedHeaders, [tsHeader]: rng.pick(['', 'now', '-1', '1.5e9', '9'.repeat(40), `${nowSeconds()}.0`, ` ${nowSeconds()}x`]) } : signedHeaders;
        check('timestamp', await send(route, 'POST', headers, body), false);
      },
      // A valid delivery changed in one place after signing: the body, the signature, the id, the timestamp.
      async () => {
        const signed = valid(rng.pick(ROUTES));
        const what = rng.pick(['body', 'signature', 'id', 'timestamp', 'body-suffix']);
        const headers = { ...signed.headers };
        let body = signed.body;
        if (what === 'body') body = mutateBytes(body);
        else if (what === 'body-suffix') body = Buffer.concat([body, Buffer.from(rng.pick([' ', '\n', '\0', '}']))]);
        else {
          const name = Object.keys(headers).find((h) => h.endsWith(what === 'id' ? '-id' : what)) ?? Object.keys(headers).find((h) => /signature/.test(h))!;
          headers[name] = what === 'timestamp' ? String(Number(headers[name]) + rng.pick([-1, 1])) : mutateText(headers[name]!, /signature/.test(name) ? 2 : 0);
        }
        check(`mutated-${what}`, await send(signed.route, 'POST', headers, body), false);
      },
      // Correctly signed bodies that are not what the route expects: random bytes, bad UTF-8, other JSON.
      // A 2xx is allowed only where the payload may be anything JSON (then it is stored, and verified below).
      async () => {
        const route = rng.pick(ROUTES);
        const body = rng.pick([
          () => rng.bytes(rng.int(0, 2000)),
          () => Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
          () => Buffer.from(rng.pick(['[]', '1', '"x"', 'null', 'true', '{}', '{"event_type":5}', '{"user_id":{}}'])),
          () => Buffer.from(JSON.stringify({ deep: randomText(500) })),
        ])();
        const headers =
          route === '/oura'
            ? ouraHeaders(TEST_SECRETS.oura, body)
            : route === '/corsano'
              ? corsanoHeaders(TEST_SECRETS.corsano, body)
              : standardHeaders(STANDARD_SECRET[route]!, `msg_shape_${serial++}`, body);
        const status = await send(route, 'POST', headers, body);
        check('signed-odd-body', status, null);
      },
      // Junk headers beside a valid delivery: many, long, repeated.
      async () => {
        const signed = valid(rng.pick(ROUTES));
        const extra: Record<string, string> = {};
        for (let i = rng.int(1, 300); i > 0; i--) extra[`x-fuzz-${i}-${randomText(8).replace(/[^\w]/g, '')}`] = randomText(60).replace(/[^\x20-\x7e]/g, '');
        const status = await send(signed.route, 'POST', { ...extra, ...signed.headers }, signed.body);
        // Within Node's header limits it is a valid delivery; past them it is refused (431) and never stored.
        if (status !== null && status >= 200 && status < 300) validSent.push(signed);
        check('junk-headers', status, status === 431 ? false : null);
      },
      // Sizes at and past the 1 MiB limit.
      async () => {
        const route = rng.pick(['/vital', '/standard', '/corsano'] as const);
        const size = rng.pick([1024 * 1024, 1024 * 1024 + 1, 1024 * 1024 + rng.int(2, 512 * 1024)]);
        const prefix = `{"type":"size","n":${serial++},"pad":"`;
        const body = Buffer.from(prefix + 'p'.repeat(size - prefix.length - 2) + '"}');
        const headers = route === '/corsano' ? corsanoHeaders(TEST_SECRETS.corsano, body) : standardHeaders(STANDARD_SECRET[route]!, `msg_size_${serial}`, body);
        const status = await send(route, 'POST', headers, body);
        if (size <= 1024 * 1024) validSent.push({ route, headers, body });
        check(size <= 1024 * 1024 ? 'size-at-limit' : 'size-over-limit', status, size <= 1024 * 1024 ? true : false);
        if (size > 1024 * 1024 && status !== null) expect(status).toBe(413);
      },
      // Signed JSON nested deeper than 64 levels (up to 100,000): 400, never stored (issue #15, row 4).
      async () => {
        const route = rng.pick(['/vital', '/standard', '/corsano'] as const);
        const levels = rng.pick([65, 100, 3000, 100_000]);
        const body = Buffer.from(rng.pick([`{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`, `${'{"x":'.repeat(levels)}1${'}'.repeat(levels)}`]));
        const headers = route === '/corsano' ? corsanoHeaders(TEST_SECRETS.corsano, body) : standardHeaders(STANDARD_SECRET[route]!, `msg_deep_${serial++}`, body);
        const status = await send(route, 'POST', headers, body);
        check('signed-deep', status, false);
        if (status !== 400) failures.push(`signed-deep ${route} ${levels} levels: answered ${status}, not 400`);
        deepSent.push(body.toString('base64'));
      },
      // A valid delivery with a byte order mark before its JSON: accepted, and its work done like any other (row 4).
      async () => {
        const signed = valid(rng.pick(ROUTES));
        const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), signed.body]);
        const headers =
          signed.route === '/oura'
            ? ouraHeaders(TEST_SECRETS.oura, body)
            : signed.route === '/corsano'
              ? corsanoHeaders(TEST_SECRETS.corsano, body)
              : standardHeaders(STANDARD_SECRET[signed.route]!, `msg_bom_${serial++}`, body);
        const bom = { route: signed.route, headers, body };
        validSent.push(bom);
        bomSent.push(body.toString('base64'));
        check('valid-bom', await send(bom.route, 'POST', headers, body), true);
      },
    ];

    /** Headers for sending `signed` again now: same id and body, a fresh timestamp (a sender's retry). */
    function resign(signed: Signed): Record<string, string> {
      if (signed.route === '/oura') return ouraHeaders(TEST_SECRETS.oura, signed.body);
      if (signed.route === '/corsano') return signed.headers;
      const brand = 'svix-id' in signed.headers ? 'svix' : 'webhook';
      return standardHeaders(STANDARD_SECRET[signed.route]!, signed.headers[`${brand}-id`]!, signed.body, { brand });
    }

    // Broken HTTP on raw sockets: whatever comes back must not be a 2xx (except for the valid request pipelined behind).
    const rawCases: (() => { bytes: Buffer; valid: number })[] = [
      () => ({ bytes: rng.bytes(rng.int(1, 3000)), valid: 0 }),
      // Absolute-form targets that are not URLs (row 3): a 4xx, never a 5xx.
      () => ({ bytes: Buffer.from(`${rng.pick(['POST', 'GET'])} ${rng.pick(['http://a:b/vital', 'http://[::1/oura', 'http://%zz/standard', 'https://a:99999/corsano', 'http:///healthz'])} HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /vital HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /vital HTTP/1.1\r\nHost: x\r\nContent-Length: ${rng.pick(['abc', '-1', '5, 6', '99999999999999999999'])}\r\n\r\nhello`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /vital HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /oura HTTP/1.1\r\nHost: x\r\n${rng.pick(['Bad Header: x', 'NoColon', ' folded: x', 'x-oura-signature : A', 'Nul: a\0b'])}\r\n\r\n`), valid: 0 }),
      () => ({ bytes: Buffer.from(`${rng.pick(['GET / HTTP/9.9', 'GET /', 'POST /vital HTTP/1.1 extra', 'POST  /vital HTTP/1.1', '\r\n\r\n', 'POST /vital HTTP/1.0'])}\r\nHost: x\r\n\r\n`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /vital HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${rng.pick(['zz\r\nabc\r\n0\r\n\r\n', '5\r\nabc\r\n0\r\n\r\n', 'FFFFFFFFFFFFFFFF\r\n'])}`), valid: 0 }),
      () => ({ bytes: Buffer.from(`POST /vital HTTP/1.1\r\nHost: x\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n{"a":`), valid: 0 }),
      () => {
        // Two requests in one write: a valid delivery pipelined behind a broken one, or two valid ones.
        const a = valid(rng.pick(ROUTES));
        const b = valid(rng.pick(ROUTES));
        validSent.push(a, b);
        return { bytes: Buffer.concat([rawRequest(a), rawRequest(b)]), valid: 2 };
      },
      () => {
        // A valid request cut short (before its last byte): the receiver waits for the rest, then the sender leaves.
        const whole = rawRequest(valid(rng.pick(ROUTES)));
        return { bytes: whole.subarray(0, rng.int(10, Math.min(200, whole.length - 1))), valid: 0 };
      },
    ];

    function rawRequest(signed: Signed): Buffer {
      const head = [`POST ${signed.route} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Length: ${signed.body.length}`, ...Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`)];
      return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), signed.body]);
    }

    /** Send raw bytes (in chunks with pauses when `trickle`), then read answers until the server closes or goes quiet. */
    const raw = (bytes: Buffer, options: { trickle?: boolean; abandonAt?: number; quietMs?: number } = {}): Promise<number[]> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        sockets.add(socket);
        let answer = '';
        let quiet: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(quiet);
          socket.destroy();
          sockets.delete(socket);
          resolve([...answer.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1])));
        };
        const idle = () => {
          clearTimeout(quiet);
          quiet = setTimeout(done, options.quietMs ?? 400);
        };
        socket.on('data', (d) => {
          answer += d.toString('latin1');
          idle();
        });
        socket.on('error', () => {});
        socket.on('close', done);
        socket.on('connect', async () => {
          if (!options.trickle) {
            socket.write(bytes);
            idle();
            return;
          }
          for (let at = 0; at < bytes.length; ) {
            if (options.abandonAt !== undefined && at >= options.abandonAt) return done();
            const step = rng.int(1, 60);
            socket.write(bytes.subarray(at, at + step));
            at += step;
            await new Promise((r) => setTimeout(r, rng.int(5, 40)));
            if (socket.destroyed) return;
          }
          idle();
        });
      });

    // Slow clients in the background for the whole run: headers that never end, bodies trickled in.
    const slowloris = Array.from({ length: SLOWLORIS }, () => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.add(socket);
      socket.on('error', () => {});
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write('POST /vital HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        timer = setInterval(() => socket.write('a'), rng.int(50, 200));
      });
      return () => {
        clearInterval(timer);
        socket.destroy();
      };
    });
    const slow = Promise.all(
      Array.from({ length: SLOW_DELIVERIES }, async (_, i) => {
        const signed = valid(rng.pick(ROUTES));
        const bytes = rawRequest(signed);
        if (i % 3 === 2) {
          stats.abandoned_slow_deliveries++;
          const answers = await raw(bytes, { trickle: true, abandonAt: Math.floor(bytes.length / 2) });
          check('slow-abandoned', answers[0] ?? null, false);
          return;
        }
        validSent.push(signed);
        stats.slow_deliveries++;
        const answers = await raw(bytes, { trickle: true, quietMs: 2_000 });
        check('slow-delivery', answers[0] ?? null, true);
      }),
    );

    // The run: HTTP cases and raw cases, several at a time.
    const plan = [...Array.from({ length: CASES }, () => rng.pick(cases)), ...Array.from({ length: RAW_CASES }, () => 'raw' as const)];
    for (let i = plan.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [plan[i], plan[j]] = [plan[j]!, plan[i]!];
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < plan.length) {
          const step = plan[next++]!;
          if (step !== 'raw') {
            await step();
            continue;
          }
          const made = rng.pick(rawCases)();
          const answers = await raw(made.bytes, { quietMs: made.valid > 0 ? 3_000 : 400 });
          const sent = JSON.stringify(made.bytes.subarray(0, 160).toString('latin1'));
          if (made.valid === 0) check(`raw-broken ${sent}`, answers.find((s) => s >= 200 && s < 300) ?? answers[0] ?? null, false);
          else for (let k = 0; k < made.valid; k++) check('raw-pipelined-valid', answers[k] ?? null, true);
        }
      }),
    );
    await slow;
    for (const stop of slowloris) stop();

    expect(failures, `seed ${SEED + 1} (RELIABILITY_SEED=${SEED}):\n${failures.slice(0, 20).join('\n')}`).toEqual([]);

    // Still up, still accepting.
    const health = await request(`${url}/healthz`);
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    const last = valid('/vital');
    validSent.push(last);
    expect(await send('/vital', 'POST', last.headers, last.body)).toBe(200);
    expect(listener.child.exitCode).toBeNull();
    // No request made the receiver fail internally.
    expect(listener.lines().filter((l) => l.type === 'error')).toEqual([]);

    // Every stored row verifies with the senders' secrets, checked here with node:crypto and the standardwebhooks package.
    const db = openDatabase(dbFile, { readonly: true });
    const rows = db.prepare('SELECT provider, received_at, headers, body, status, error FROM deliveries').all() as {
      provider: string;
      received_at: string;
      headers: string;
      body: Buffer;
      status: string;
      error: string | null;
    }[];
    db.close();
    const unverified = rows.filter((row) => !verifiesIndependently(row));
    // Nothing nested too deep was stored; every delivery with a byte order mark was worked on, none failed for it.
    const byBody = new Map(rows.map((r) => [r.body.toString('base64'), r]));
    expect(deepSent.filter((b) => byBody.has(b))).toEqual([]);
    await waitUntilWorked(dbFile, bomSent);
    expect(unverified.map((r) => `${r.provider}: ${r.body.toString('utf8').slice(0, 80)}`)).toEqual([]);
    // And every valid delivery sent is there, byte for byte.
    const storedBodies = new Set(rows.map((r) => r.body.toString('base64')));
    const missing = validSent.filter((s) => !storedBodies.has(s.body.toString('base64')));
    expect(missing.map((s) => `${s.route} ${s.body.toString('utf8').slice(0, 80)}`)).toEqual([]);
    const distinctValid = new Set(validSent.map((s) => s.body.toString('base64')));

    record('fuzz', {
      seed: SEED + 1,
      total_cases: CASES + RAW_CASES + SLOW_DELIVERIES + SLOWLORIS,
      http_cases: CASES,
      raw_socket_cases: RAW_CASES,
      slowloris_connections: SLOWLORIS,
      slow_deliveries_completed: stats.slow_deliveries,
      slow_deliveries_abandoned: stats.abandoned_slow_deliveries,
      answers_checked: stats.cases,
      valid_deliveries_sent: distinctValid.size,
      rows_stored: rows.length,
      rows_failing_independent_verification: unverified.length,
      by_kind: stats.by_kind,
      answers: stats.answers,
    }, { deliveries: distinctValid.size, fuzz_cases: CASES + RAW_CASES + SLOW_DELIVERIES + SLOWLORIS });
  });
});

/** Every delivery among `bodies` has its work done (processed, or pending on an Oura fetch), none failed. */
async function waitUntilWorked(dbFile: string, bodies: string[]): Promise<void> {
  const wanted = new Set(bodies);
  for (let i = 0; i < 600; i++) {
    const db = openDatabase(dbFile, { readonly: true });
    const rows = (db.prepare('SELECT body, status, error FROM deliveries').all() as { body: Buffer; status: string; error: string | null }[]).filter((r) =>
      wanted.has(r.body.toString('base64')),
    );
    db.close();
    const failed = rows.filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.error)).toEqual([]);
    if (rows.length === wanted.size && rows.every((r) => r.status !== 'received')) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('deliveries with a byte order mark were not worked on');
}

function headerOf(pairs: [string, string][], name: string): string | undefined {
  return pairs.find(([k]) => k.toLowerCase() === name)?.[1];
}

/** Does a stored delivery carry a valid signature of its exact bytes? Written without wearhook's verifiers. */
function verifiesIndependently(row: { provider: string; received_at: string; headers: string; body: Buffer }): boolean {
  const pairs = JSON.parse(row.headers) as [string, string][];
  if (row.provider === 'oura') {
    const timestamp = headerOf(pairs, 'x-oura-timestamp') ?? '';
    const expected = createHmac('sha256', TEST_SECRETS.oura).update(timestamp).update(row.body).digest('hex');
    const inWindow = Math.abs(Number(timestamp) - Date.parse(row.received_at) / 1000) <= 300;
    return inWindow && headerOf(pairs, 'x-oura-signature')?.trim().toLowerCase() === expected;
  }
  if (row.provider === 'corsano') {
    const digest = createHmac('sha256', TEST_SECRETS.corsano).update(row.body).digest();
    const given = headerOf(pairs, 'x-signature') ?? '';
    return given === digest.toString('hex') || given === digest.toString('base64');
  }
  const secret = { vital: TEST_SECRETS.vital, 'open-wearables': TEST_SECRETS['open-wearables'], standard: TEST_SECRETS.standard }[row.provider];
  if (!secret) return false;
  for (const brand of ['webhook', 'svix']) {
    const id = headerOf(pairs, `${brand}-id`);
    const timestamp = headerOf(pairs, `${brand}-timestamp`);
    const signature = headerOf(pairs, `${brand}-signature`);
    if (!id || !timestamp || !signature) continue;
    try {
      // The signature only: the package would also parse the body as JSON, and JSON.parse refuses a byte order mark.
      new Webhook(secret).verify(row.body.toString('utf8'), { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
      return true;
    } catch {
      return false;
    }
  }
  return false;
}
