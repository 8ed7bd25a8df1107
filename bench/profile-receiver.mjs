// Where a delivery's time goes, independently of the machine's load: `wearhook listen` and a bare
// node:http server under the same autocannon run, with the CPU each process used per request
// (user + system, from /proc) and, for wearhook, the fsyncs per delivery (strace, when present).
// With --cpu-prof the receiver writes a V8 CPU profile to DIR, summarised here by where its busy
// time went (HTTP, signature, SQLite insert and commit, the work, the NDJSON log, GC).
//   node bench/profile-receiver.mjs oura|vital CONNECTIONS [SECONDS] [--cpu-prof DIR] [--strace]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, round, tempDir } from './lib.mjs';
import { seedOuraUsers, startOuraLike, wearhookEnv } from './oura-like.mjs';
import { BARE_SERVER, load, signedDeliveries, startChild, VITAL_SECRET } from './receiver.mjs';

const args = process.argv.slice(2);
const flag = (name) => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args.splice(at, 2)[1];
};
const profileDir = flag('--cpu-prof');
const straceAt = args.indexOf('--strace');
if (straceAt >= 0) args.splice(straceAt, 1);
const [provider = 'vital', c = '1', seconds = '5'] = args;
const connections = Number(c);
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString());

/** CPU time (user + system) of a process and its threads so far, in microseconds. */
function cpuUs(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { user: Number(fields[11]) * TICK_US, system: Number(fields[12]) * TICK_US };
}

const dir = tempDir();
const configDir = path.join(dir, 'config');
const dbFile = path.join(dir, 'w.db');
const ouraLike = await startOuraLike({ users: ['bench-oura-user'] });
await seedOuraUsers(configDir, dbFile, ['bench-oura-user']);
const env = wearhookEnv({ WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbFile, WEARHOOK_OURA_API_URL: ouraLike.url, WEARHOOK_SECRET_VITAL: VITAL_SECRET });
const listenArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), BIN, 'listen', '--port', '0', '--json'];
const listener = await startChild(listenArgs, env, (line) => (line.includes('"type":"ready"') ? JSON.parse(line).url : null));
const bare = await startChild(['-e', BARE_SERVER], { ...process.env }, (line) => (line.startsWith('http://') ? line.trim() : null));
const route = provider === 'oura' ? '/oura' : '/vital';
await load(bare.url, route, signedDeliveries(provider, 2_000), 16, 1);
await load(listener.url, route, signedDeliveries(provider, 20_000), 16, 1);
await new Promise((resolve) => setTimeout(resolve, 2_000)); // the warm-up's work done

const measure = async (server, deliveries) => {
  const before = { server: cpuUs(server.child.pid) };
  const result = await load(server.url, route, deliveries, connections, Number(seconds));
  // What the answer started (the work, the fetch) is part of the delivery's cost.
  await new Promise((resolve) => setTimeout(resolve, server === listener ? 1_500 : 0));
  const after = cpuUs(server.child.pid);
  const user = after.user - before.server.user;
  const system = after.system - before.server.system;
  return { ...result, cpu_us_per_request: Math.round((user + system) / result.ok_2xx), system_cpu_us_per_request: Math.round(system / result.ok_2xx) };
};
let strace;
if (straceAt >= 0) {
  strace = spawn('strace', ['-f', '-c', '-e', 'trace=fsync,fdatasync', '-p', String(listener.child.pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve) => setTimeout(resolve, 500));
}
const loadAtStart = os.loadavg().map((n) => round(n));
const baseline = await measure(bare, signedDeliveries(provider, 5_000));
const wearhook = await measure(listener, signedDeliveries(provider, 100_000));
let fsyncs;
if (strace) {
  let text = '';
  strace.stderr.on('data', (d) => (text += d));
  const done = new Promise((resolve) => strace.once('exit', resolve));
  strace.kill('SIGINT');
  await done;
  // strace -c columns: % time, seconds, usecs/call, calls, [errors,] syscall.
  fsyncs = text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.at(-1) === 'fsync' || f.at(-1) === 'fdatasync')
    .reduce((n, f) => n + Number(f[3]), 0);
}
console.log(
  JSON.stringify({
    provider,
    connections,
    load_average: loadAtStart,
    wearhook,
    bare: baseline,
    ratio_per_s: round(wearhook.per_s / baseline.per_s),
    cpu_ratio: round(baseline.cpu_us_per_request / wearhook.cpu_us_per_request),
    ...(fsyncs !== undefined ? { fsyncs_per_delivery: round(fsyncs / wearhook.ok_2xx, 3) } : {}),
  }),
);
await listener.stop();
await bare.stop();
if (profileDir) for (const file of fs.readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) summarise(path.join(profileDir, file));
await ouraLike.close();
fs.rmSync(dir, { recursive: true, force: true });

/**
 * Busy time of a CPU profile by what it was spent on (the warm-up included; start-up apart).
 * A sample counts for the first category its stack matches, innermost frame first for the commit.
 */
function summarise(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const stack = (id) => {
    const frames = [];
    for (let at = id; at !== undefined; at = parent.get(at)) frames.push(`${nodes.get(at).callFrame.functionName} ${nodes.get(at).callFrame.url}`);
    return frames;
  };
  const categories = [
    ['start-up (module loading)', (f) => f.some((s) => /esm\/|cjs\/loader|bootstrap\/realm/.test(s))],
    ['garbage collection', (f) => f[0].startsWith('(garbage collector)')],
    ['SQLite commit, fsync included', (f) => /transaction\.js/.test(f[0])],
    ['NDJSON log lines', (f) => f.some((s) => /live-log|cli\/output/.test(s))],
    ['Oura fetch (HTTP client)', (f) => f.some((s) => /undici|oura-fetch|http-client/.test(s))],
    ['work after the answer (store documents, mark processed)', (f) => f.some((s) => /work-queue\.js/.test(s))],
    ['SQLite insert of the delivery', (f) => f.some((s) => s.startsWith('insertDelivery '))],
    ['signature check', (f) => f.some((s) => /^(verify|checkHeaders|checkStandardHeaders|createHmac|Hmac) /.test(s))],
    ['JSON decode', (f) => f.some((s) => /^(decodeJson|parseJson|describe) /.test(s))],
    ['writing the answer', (f) => f.some((s) => /^(reply|answer) /.test(s))],
    ['HTTP parsing and sockets', (f) => f.some((s) => /node:_http|node:net|streams\/|stream_base|^parserOn|^(writev|writeUtf8String|\(program\)) /.test(s))],
    ['other', () => true],
  ];
  const spent = new Map();
  const times = new Map();
  profile.samples.forEach((id, i) => times.set(id, (times.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  for (const [id, us] of times) {
    if (nodes.get(id).callFrame.functionName === '(idle)') continue;
    const frames = stack(id);
    const [name] = categories.find(([, matches]) => matches(frames));
    spent.set(name, (spent.get(name) ?? 0) + us);
  }
  const startup = spent.get('start-up (module loading)') ?? 0;
  spent.delete('start-up (module loading)');
  const busy = [...spent.values()].reduce((a, b) => a + b, 0);
  console.log(`${path.basename(file)}: busy ${Math.round(busy / 1000)} ms (start-up ${Math.round(startup / 1000)} ms apart)`);
  for (const [name, us] of [...spent].sort((a, b) => b[1] - a[1])) console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${name}`);
}
