// Sync: documents per second of `wearhook sync` against a local Oura look-alike with paging,
// without a rate limit (against the same pages fetched by a bare fetch loop) and under Oura's
// rate of 5000 requests per 5 minutes, scaled to 167 per 10 s so that the run stays short:
// how close it runs to the limit, and how many 429s it takes to get there.
import fs from 'node:fs';
import path from 'node:path';
import { BIN, measure, round, tempDir } from './lib.mjs';
import { lastDay, seedOuraUsers, startOuraLike, wearhookEnv } from './oura-like.mjs';

const USERS = ['bench-u1', 'bench-u2', 'bench-u3', 'bench-u4'];
const TYPES = ['sleep', 'daily_sleep', 'daily_readiness', 'daily_activity'];
const DAYS = 730;
const PAGE_SIZE = 25;
/** Oura: 5000 requests per 300 s. Same rate, a thirtieth of the window. */
const LIMIT = { limit: 167, windowMs: 10_000 };

async function runSync(dir, name, ouraLike) {
  const configDir = path.join(dir, `${name}-config`);
  const dbFile = path.join(dir, `${name}.db`);
  await seedOuraUsers(configDir, dbFile, USERS);
  ouraLike.reset();
  const out = path.join(dir, `${name}.json`);
  const m = await measure(process.execPath, [BIN, '--json', 'sync', '--from', '2024-01-01', '--to', lastDay(DAYS)], {
    fullEnv: wearhookEnv({ WEARHOOK_CONFIG_DIR: configDir, WEARHOOK_DB: dbFile, WEARHOOK_OURA_API_URL: ouraLike.url }),
    stdoutFile: out,
  });
  const summary = JSON.parse(fs.readFileSync(out, 'utf8'));
  const stored = Object.values(summary.totals).reduce((sum, t) => sum + t.new, 0);
  if (stored !== USERS.length * TYPES.length * DAYS) throw new Error(`sync stored ${stored} documents, expected ${USERS.length * TYPES.length * DAYS}`);
  const { requests, throttled, windows } = ouraLike.stats;
  return {
    documents: stored,
    ms: round(m.ms),
    documents_per_s: Math.round(stored / (m.ms / 1000)),
    requests,
    requests_per_s: round(requests / (m.ms / 1000)),
    throttled_429: throttled,
    windows: windows + 1,
    peak_mib: round(m.peakMiB, 1),
    waits_announced: (m.stderr.match(/rate limited \(429\)/g) ?? []).length,
  };
}

export async function benchSync({ log = () => {} } = {}) {
  const dir = tempDir();
  const shape = { users: USERS.length, types: TYPES, days: DAYS, page_size: PAGE_SIZE };
  try {
    const open = await startOuraLike({ users: USERS, days: DAYS, pageSize: PAGE_SIZE });
    let unlimited;
    let floor;
    try {
      log('sync without a rate limit: wearhook, then a bare fetch loop over the same pages');
      unlimited = await runSync(dir, 'unlimited', open);
      open.reset();
      const pagesOut = path.join(dir, 'pages.txt');
      const m = await measure(process.execPath, ['bench/oura-pages.mjs', open.url, '2023-12-31', '2026-01-01', TYPES.join(','), USERS.join(',')], { stdoutFile: pagesOut });
      const fetched = Number(fs.readFileSync(pagesOut, 'utf8'));
      if (fetched !== unlimited.documents) throw new Error(`the fetch loop read ${fetched} documents, sync ${unlimited.documents}`);
      floor = { requests: open.stats.requests, ms: round(m.ms), documents_per_s: Math.round(unlimited.documents / (m.ms / 1000)) };
    } finally {
      await open.close();
    }
    const limited = await startOuraLike({ users: USERS, days: DAYS, pageSize: PAGE_SIZE, rateLimit: LIMIT });
    let throttled;
    try {
      log(`sync under a limit of ${LIMIT.limit} requests per ${LIMIT.windowMs / 1000} s`);
      throttled = await runSync(dir, 'limited', limited);
    } finally {
      await limited.close();
    }
    const allowedPerS = LIMIT.limit / (LIMIT.windowMs / 1000);
    // The fastest any client could finish under a fixed window: every window but the last used
    // in full, then the last requests at the speed it has without a limit.
    const answered = throttled.requests - throttled.throttled_429;
    const lastBurst = answered - (Math.ceil(answered / LIMIT.limit) - 1) * LIMIT.limit;
    const idealMs = (Math.ceil(answered / LIMIT.limit) - 1) * LIMIT.windowMs + (unlimited.ms * lastBurst) / unlimited.requests;
    return {
      ...shape,
      unlimited: { wearhook: unlimited, bare_fetch_loop: floor, ratio_documents_per_s: round(unlimited.documents_per_s / floor.documents_per_s) },
      rate_limited: {
        limit: `${LIMIT.limit} requests per ${LIMIT.windowMs / 1000} s (Oura's 5000 per 300 s, window scaled 1/30)`,
        allowed_requests_per_s: round(allowedPerS),
        wearhook: throttled,
        ideal_ms: round(idealMs),
        ratio_ideal_vs_actual_time: round(idealMs / throttled.ms),
        throttled_429_per_full_window: round(throttled.throttled_429 / Math.max(1, Math.ceil(answered / LIMIT.limit) - 1)),
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
