// A small Oura look-alike for the benchmarks, on 127.0.0.1: one document by id (what the
// receiver fetches after an Oura notification) and collections with `next_token` paging (what
// `sync` reads), behind an optional fixed-window rate limit that answers 429 with Retry-After
// and X-RateLimit-Reset as Oura does. Any bearer token in `tokens` is accepted; it never expires.
// Counts every request, 429 and document served, so the benches can report them.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { CredentialStore } from '../dist/credentials/token-store.js';
import { openDatabase } from '../dist/store/db.js';
import { upsertUser } from '../dist/store/users.js';

export const BENCH_CLIENT = { id: 'bench-client-id', secret: 'bench-client-secret-0123456789' };

function dayOf(index) {
  return new Date(Date.UTC(2024, 0, 1) + index * 86_400_000).toISOString().slice(0, 10);
}

function dayIndex(day) {
  return Math.round((Date.parse(`${day}T00:00:00Z`) - Date.UTC(2024, 0, 1)) / 86_400_000);
}

/** A document of `type` for one user and day, shaped like Oura's (sleep with HRV items, daily scores). */
export function ouraDocument(type, userId, day, id = `${type}-${userId}-${day}`) {
  if (type === 'sleep') {
    return {
      id,
      day,
      type: 'long_sleep',
      bedtime_start: `${day}T00:10:00.000+01:00`,
      bedtime_end: `${day}T07:40:00.000+01:00`,
      total_sleep_duration: 25_200,
      time_in_bed: 27_000,
      deep_sleep_duration: 5_400,
      light_sleep_duration: 14_400,
      rem_sleep_duration: 5_400,
      awake_time: 1_800,
      efficiency: 93,
      latency: 600,
      average_heart_rate: 55.5,
      lowest_heart_rate: 48,
      average_hrv: 42,
      average_breath: 14.5,
      hrv: { interval: 300, timestamp: `${day}T00:10:00.000+01:00`, items: Array.from({ length: 90 }, (_, i) => (i % 11 === 0 ? null : 30 + (i % 40))) },
    };
  }
  if (type === 'daily_readiness') {
    return { id, day, score: 84, temperature_deviation: -0.1, temperature_trend_deviation: 0.05, timestamp: `${day}T00:00:00+01:00`, contributors: { activity_balance: 80, body_temperature: 98, hrv_balance: 77, previous_day_activity: 85, previous_night: 90, recovery_index: 88, resting_heart_rate: 92, sleep_balance: 81 } };
  }
  if (type === 'daily_activity') {
    return { id, day, score: 71, steps: 8421, active_calories: 420, total_calories: 2410, equivalent_walking_distance: 6400, high_activity_time: 1200, medium_activity_time: 2400, low_activity_time: 9000, sedentary_time: 30_000, resting_time: 28_000, non_wear_time: 600, timestamp: `${day}T04:00:00+01:00` };
  }
  return { id, day, score: 80, timestamp: `${day}T00:00:00+01:00`, contributors: { deep_sleep: 80, efficiency: 90, latency: 85, rem_sleep: 75, restfulness: 70, timing: 95, total_sleep: 88 } };
}

/**
 * Start the server. `days` documents per user and type (from 2024-01-01); `pageSize` per page;
 * `rateLimit` {limit, windowMs} or none.
 */
export async function startOuraLike({ users = [], days = 0, pageSize = 50, rateLimit } = {}) {
  const tokens = new Map(users.map((u) => [`bench-token-${u}`, u]));
  const stats = { requests: 0, throttled: 0, documents: 0, windows: 0 };
  let windowStart = Date.now();
  let windowCount = 0;

  const send = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  };

  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      stats.requests++;
      if (rateLimit) {
        const now = Date.now();
        if (now - windowStart >= rateLimit.windowMs) {
          windowStart = now;
          windowCount = 0;
          stats.windows++;
        }
        if (windowCount >= rateLimit.limit) {
          stats.throttled++;
          const resetMs = windowStart + rateLimit.windowMs;
          return send(res, 429, { detail: 'Too Many Requests' }, {
            'retry-after': String(Math.max(1, Math.ceil((resetMs - now) / 1000))),
            'x-ratelimit-reset': String(Math.ceil(resetMs / 1000)),
          });
        }
        windowCount++;
      }
      const url = new URL(req.url ?? '/', 'http://oura-like');
      const userId = tokens.get(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
      if (!userId) return send(res, 401, { detail: 'Unauthorized' });
      const match = /^\/v2\/usercollection\/([A-Za-z0-9_]+)(?:\/([^/]+))?$/.exec(url.pathname);
      if (!match || req.method !== 'GET') return send(res, 404, { detail: 'Not Found' });
      const [, type, documentId] = match;
      if (type === 'personal_info') return send(res, 200, { id: userId, email: null, age: null });
      if (documentId) {
        stats.documents++;
        return send(res, 200, ouraDocument(type, userId, '2024-03-01', documentId));
      }
      // Collections: every day of [start_date, end_date] that the server holds, one page at a time.
      const first = Math.max(0, dayIndex(url.searchParams.get('start_date') ?? '2024-01-01'));
      const last = Math.min(days - 1, dayIndex(url.searchParams.get('end_date') ?? '2999-12-31'));
      const offset = Number(url.searchParams.get('next_token') ?? 0);
      const from = first + offset;
      const to = Math.min(last + 1, from + pageSize);
      const data = [];
      for (let i = from; i < to; i++) data.push(ouraDocument(type, userId, dayOf(i)));
      stats.documents += data.length;
      send(res, 200, { data, next_token: to <= last ? String(offset + pageSize) : null });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    stats,
    reset() {
      Object.assign(stats, { requests: 0, throttled: 0, documents: 0, windows: 0 });
      windowStart = Date.now();
      windowCount = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function lastDay(days) {
  return dayOf(days - 1);
}

/**
 * Authorize `users` in a wearhook config dir and database as `auth oura` would, with tokens
 * the Oura look-alike accepts and that stay valid for a day (so no refresh happens).
 */
export async function seedOuraUsers(configDir, dbFile, users) {
  fs.mkdirSync(configDir, { recursive: true });
  const previous = process.env.WEARHOOK_CONFIG_DIR;
  process.env.WEARHOOK_CONFIG_DIR = configDir;
  const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
  const scopes = ['email', 'personal', 'daily', 'heartrate', 'workout', 'tag', 'session', 'spo2'];
  try {
    const store = new CredentialStore();
    for (const user of users) {
      await store.save('oura', user, { access_token: `bench-token-${user}`, refresh_token: `bench-refresh-${user}`, expires_at: expiresAt, scopes, obtained_at: new Date().toISOString() });
    }
  } finally {
    if (previous === undefined) delete process.env.WEARHOOK_CONFIG_DIR;
    else process.env.WEARHOOK_CONFIG_DIR = previous;
  }
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const db = openDatabase(dbFile);
  try {
    for (const user of users) upsertUser(db, { provider: 'oura', userId: user, label: null, scopes: scopes.join(' '), tokenExpiresAt: expiresAt });
  } finally {
    db.close();
  }
}

/** The environment of a wearhook child talking to the look-alike: its own settings only. */
export function wearhookEnv(extra) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('WEARHOOK_') || key.startsWith('OURA_') || key === 'NGROK_AUTHTOKEN') delete env[key];
  return { ...env, NO_COLOR: '1', OURA_CLIENT_ID: BENCH_CLIENT.id, OURA_CLIENT_SECRET: BENCH_CLIENT.secret, ...extra };
}
