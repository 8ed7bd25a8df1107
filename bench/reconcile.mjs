// Reconciliation: one pass of `wearhook listen --reconcile` over 100 users x the 7-day window x
// 3 types against the Oura look-alike under Oura's rate (5000 requests per 5 minutes, its window
// scaled to 10 s as in the sync bench), while signed Standard Webhooks deliveries arrive at a
// steady rate; then the same load on the same receiver once the pass is over (the baseline).
// Reports the pass's requests, 429s and time, and the receiver's p50/p99 during and after it.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, round, tempDir } from './lib.mjs';
import { seedOuraUsers, startOuraLike, wearhookEnv } from './oura-like.mjs';
import { load, signedDeliveries, startChild, VITAL_SECRET } from './receiver.mjs';

const USERS = Array.from({ length: 100 }, (_, i) => `bench-r${String(i + 1).padStart(3, '0')}`);
const TYPES = ['sleep', 'daily_readiness', 'daily_activity'];
const LOOK_BACK_DAYS = 7;
/** Oura: 5000 requests per 300 s. Same rate, a thirtieth of the window (bursts of at most 167). */
const LIMIT = { limit: 167, windowMs: 10_000 };
/** Deliveries a second while the pass runs, and after it: a busy study, well under the receiver's capacity. */
const RATE = 100;
const CONNECTIONS = 8;
const LOAD_S = 10;

export async function benchReconcile({ log = () => {} } = {}) {
  const dir = tempDir();
  const configDir = path.join(dir, 'config');
  const dbFile = path.join(dir, 'reconcile.db');
  // Documents for every day from 2024-01-01 to tomorrow.
  const days = Math.round((Date.now() - Date.UTC(2024, 0, 1)) / 86_400_000) + 2;
  const ouraLike = await startOuraLike({ users: USERS, days, pageSize: 50, rateLimit: LIMIT });
  await seedOuraUsers(configDir, dbFile, USERS);
  const passes = [];
  let listener;
  try {
    ouraLike.reset();
    const started = Date.now();
    listener = await startChild(
      [BIN, 'listen', '--port', '0', '--json', '--reconcile', '--reconcile-days', String(LOOK_BACK_DAYS), '--data-type', TYPES.join(','), '--reconcile-interval', '24h'],
      wearhookEnv({ WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbFile, WEARHOOK_OURA_API_URL: ouraLike.url, WEARHOOK_SECRET_VITAL: VITAL_SECRET }),
      (line) => (line.includes('"type":"ready"') ? JSON.parse(line).url : null),
      (line) => {
        if (line.includes('"type":"reconcile-pass"') && line.includes('"state":"done"')) passes.push(JSON.parse(line));
      },
    );
    log(`reconcile: a pass over ${USERS.length} users x ${LOOK_BACK_DAYS} days x ${TYPES.length} types, with ${RATE} deliveries/s arriving`);
    const during = await load(listener.url, '/vital', signedDeliveries('vital', RATE * LOAD_S * 2), CONNECTIONS, LOAD_S, RATE);
    while (passes.length === 0) {
      if (Date.now() - started > 600_000) throw new Error('the reconciliation pass did not end within 10 minutes');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const pass = passes[0];
    const stats = { ...ouraLike.stats };
    log('reconcile: the same load once the pass is over');
    const after = await load(listener.url, '/vital', signedDeliveries('vital', RATE * LOAD_S * 2), CONNECTIONS, LOAD_S, RATE);
    const expected = USERS.length * TYPES.length * (LOOK_BACK_DAYS + 2);
    if (pass.new !== expected) throw new Error(`the pass stored ${pass.new} documents, expected ${expected}`);
    const passS = pass.duration_ms / 1000;
    const summary = (r) => ({ per_s: r.per_s, p50_ms: r.p50_ms, p99_ms: r.p99_ms, non_2xx: r.non_2xx, errors: r.errors });
    return {
      users: USERS.length,
      types: TYPES,
      look_back_days: LOOK_BACK_DAYS,
      documents: pass.new,
      limit: `${LIMIT.limit} requests per ${LIMIT.windowMs / 1000} s (Oura's 5000 per 300 s, window scaled 1/30)`,
      pass: {
        ms: pass.duration_ms,
        requests: stats.requests,
        throttled_429: stats.throttled,
        requests_per_s: round(stats.requests / passS),
        allowed_requests_per_s: round(LIMIT.limit / (LIMIT.windowMs / 1000)),
        share_of_limit: round(stats.requests / passS / (LIMIT.limit / (LIMIT.windowMs / 1000))),
      },
      receiver: {
        load: `${RATE} signed Vital deliveries/s over ${CONNECTIONS} connections for ${LOAD_S} s`,
        during_pass: summary(during),
        after_pass: summary(after),
        ratio_p99: round(during.p99_ms / Math.max(after.p99_ms, 0.001)),
      },
      db_mib: round(fs.statSync(dbFile).size / 2 ** 20, 1),
    };
  } finally {
    await listener?.stop();
    await ouraLike.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
