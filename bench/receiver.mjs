// Receiver: deliveries per second and latency of `wearhook listen` for signed Oura and
// Standard Webhooks (Vital) deliveries at 1, 16 and 64 connections, driven by autocannon,
// against a bare node:http server that reads the body and answers 200, in the same run with
// the same requests. Every delivery is unique (Oura: object_id; Standard Webhooks: webhook-id),
// so each 2xx of wearhook is a new row committed to SQLite before the answer.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import fs from 'node:fs';
import autocannon from 'autocannon';
import { Webhook } from 'standardwebhooks';
import { buildPayload } from '../dist/trigger/payloads.js';
import { BIN, ROOT, round, tempDir } from './lib.mjs';
import { BENCH_CLIENT, seedOuraUsers, startOuraLike, wearhookEnv } from './oura-like.mjs';
import { startPostgresServer } from '../scripts/postgres-server.mjs';

export const VITAL_SECRET = 'whsec_' + Buffer.from('vital signing key for the bench!').toString('base64');
const OURA_USER = 'bench-oura-user';
const CONNECTIONS = [1, 16, 64];

/** Signed deliveries, unique and made before a run so that signing costs the load generator nothing during it. */
export function signedDeliveries(provider, count) {
  const seconds = Math.floor(Date.now() / 1000);
  const out = new Array(count);
  if (provider === 'oura') {
    for (let i = 0; i < count; i++) {
      const body = JSON.stringify({ event_type: 'create', data_type: 'sleep', object_id: `bench-${seconds}-${i}`, event_time: new Date(seconds * 1000).toISOString(), user_id: OURA_USER });
      const signature = createHmac('sha256', BENCH_CLIENT.secret).update(String(seconds) + body).digest('hex').toUpperCase();
      out[i] = { body, headers: { 'content-type': 'application/json', 'x-oura-timestamp': String(seconds), 'x-oura-signature': signature } };
    }
    return out;
  }
  const webhook = new Webhook(VITAL_SECRET);
  const payload = buildPayload('vital', 'daily.data.sleep.created', { now: new Date(seconds * 1000), offsetMinutes: 60 });
  for (let i = 0; i < count; i++) {
    const id = `msg_bench_${seconds}_${i}`;
    // Each delivery a sleep of its own, as real traffic brings (one document updated 60,000 times would measure its lock).
    const body = JSON.stringify({ ...payload, data: { ...payload.data, id: `bench-${seconds}-${i}` } });
    out[i] = { body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(seconds), 'webhook-signature': webhook.sign(id, new Date(seconds * 1000), body) } };
  }
  return out;
}

/** A child process that serves HTTP; resolves once it says where. */
export function startChild(args, env, readyLine, onLine = () => {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffered = '';
    let stderr = '';
    const counts = { processed: 0 };
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buffered += d;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onLine(line);
        const url = readyLine(line);
        if (url) resolve({ child, url, counts, stop: () => stopChild(child) });
        else if (line.includes('"type":"work"') && line.includes('"status":"processed"')) counts.processed++;
      }
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before it was ready: ${stderr}`)));
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

export const BARE_SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = JSON.stringify({ ok: true, bytes: Buffer.concat(chunks).length });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
}).listen(0, '127.0.0.1', function () { console.log('http://127.0.0.1:' + this.address().port); });
`;

export async function load(url, route, deliveries, connections, durationS, overallRate) {
  let next = 0;
  const result = await autocannon({
    url,
    connections,
    duration: durationS,
    pipelining: 1,
    timeout: 20,
    ...(overallRate ? { overallRate } : {}),
    requests: [
      {
        method: 'POST',
        path: route,
        setupRequest: (req) => {
          const d = deliveries[next++ % deliveries.length];
          return { ...req, headers: d.headers, body: d.body };
        },
      },
    ],
  });
  return {
    connections,
    ok_2xx: result['2xx'],
    non_2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    per_s: Math.round(result['2xx'] / result.duration),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
  };
}

async function healthz(url) {
  const res = await fetch(`${url}/healthz`);
  return res.json();
}

/** Wait until the work of every accepted delivery is done (Oura: fetched and stored; Vital: normalised), or `ms` passes; returns how long that took. */
async function drain(listener, accepted, ms = 60_000) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (listener.counts.processed >= accepted) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

export async function benchReceiver({ log = () => {}, durationS = 3 } = {}) {
  const dir = tempDir();
  const configDir = path.join(dir, 'config');
  const ouraLike = await startOuraLike({ users: [OURA_USER] });
  const bare = await startChild(['-e', BARE_SERVER], { ...process.env }, (line) => (line.startsWith('http://') ? line.trim() : null));
  const result = {
    duration_s: durationS,
    work: 'Oura notifications name a user seeded with a valid token: each acknowledgement is followed by a fetch from a local Oura look-alike (bench/oura-like.mjs) and a store; Vital sleep summaries are normalised into documents',
    oura: [],
    standard_webhooks: [],
    // The same Vital deliveries with `--db postgres://` (a local PostgreSQL with fsync on, as SQLite's commits are durable).
    standard_webhooks_postgres: [],
  };
  let postgres;
  try {
    for (const [key, provider, route] of [['oura', 'oura', '/oura'], ['standard_webhooks', 'vital', '/vital'], ['standard_webhooks_postgres', 'vital', '/vital']]) {
      let dbFile = path.join(dir, `${provider}.db`);
      if (key.endsWith('_postgres')) {
        postgres ??= await startPostgresServer({ fsync: true });
        dbFile = await postgres.createDatabase(`bench_${Date.now()}`);
      } else await seedOuraUsers(configDir, dbFile, [OURA_USER]);
      const listener = await startChild(
        [BIN, 'listen', '--port', '0', '--json'],
        wearhookEnv({ WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbFile, WEARHOOK_OURA_API_URL: ouraLike.url, WEARHOOK_SECRET_VITAL: VITAL_SECRET }),
        (line) => (line.includes('"type":"ready"') ? JSON.parse(line).url : null),
      );
      try {
        // Warm up both servers (JIT, SQLite page cache) with deliveries that are not counted.
        log(`receiver ${provider}: warm-up`);
        await load(bare.url, route, signedDeliveries(provider, 2_000), 16, 1);
        await load(listener.url, route, signedDeliveries(provider, 20_000), 16, 1);
        await drain(listener, (await healthz(listener.url)).accepted);
        for (const connections of CONNECTIONS) {
          log(`receiver ${provider}: ${connections} connection(s), bare then wearhook`);
          const baseline = await load(bare.url, route, signedDeliveries(provider, 5_000), connections, durationS);
          const before = await healthz(listener.url);
          const processedBefore = listener.counts.processed;
          const wearhook = await load(listener.url, route, signedDeliveries(provider, 60_000), connections, durationS);
          const after = await healthz(listener.url);
          // Unique deliveries: each 2xx must be a new stored row, none a duplicate.
          const stored = after.accepted - before.accepted;
          const duplicates = after.duplicates - before.duplicates;
          const entry = {
            connections,
            wearhook: { ...wearhook, stored, duplicates },
            bare: baseline,
            ratio_per_s: round(wearhook.per_s / baseline.per_s),
            ratio_p50: round(wearhook.p50_ms / Math.max(baseline.p50_ms, 0.001)),
            ratio_p99: round(wearhook.p99_ms / Math.max(baseline.p99_ms, 0.001)),
          };
          // The work after the acknowledgement that was still queued when the load stopped.
          entry.wearhook.processed_during_load = listener.counts.processed - processedBefore;
          entry.wearhook.work_drain_ms = await drain(listener, after.accepted);
          result[key].push(entry);
        }
        if (!key.endsWith('_postgres')) result[key + '_db_mib'] = round(fs.statSync(dbFile).size / 2 ** 20, 1);
      } finally {
        await listener.stop();
      }
    }
    return result;
  } finally {
    await postgres?.stop();
    await bare.stop();
    await ouraLike.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
