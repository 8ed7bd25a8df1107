import { get, type Op } from './sql.js';

/**
 * Paces shared by every process on one database: at most one request per `intervalMs` on
 * average across all of them, with bursts of up to `burst` (the generic cell rate algorithm of
 * net/pacer.ts, its state in a row instead of in memory).
 *
 * Why a row rather than an advisory lock or a counter per window: Oura's limit is a rate per
 * application (5000 requests per 5 minutes), shared by every receiver that fetches for it. A
 * lock would only serialise the fetches, not space them; a counter per fixed window lets two
 * windows' worth through around each window's edge. The row holds when the next request is due;
 * one statement moves it on by one interval and says how long the caller must wait, under the
 * row's lock, so two processes never get the same slot. Times are the database's clock, so the
 * receivers' own clocks (on several machines) may disagree without breaking the pace.
 */

/** The database's clock in epoch milliseconds, read once per statement. */
const NOW_MS = {
  sqlite: `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
  postgres: `CAST(floor(EXTRACT(EPOCH FROM statement_timestamp()) * 1000) AS bigint)`,
};

const TAKE_SLOT = {
  sqlite: `INSERT INTO paces (name, next_at) VALUES (@name, ${NOW_MS.sqlite} + @interval)
    ON CONFLICT (name) DO UPDATE SET next_at = MAX(paces.next_at + @interval, excluded.next_at)
    RETURNING next_at - @interval - ${NOW_MS.sqlite} AS due_in_ms`,
  postgres: `INSERT INTO paces (name, next_at) VALUES (@name, ${NOW_MS.postgres} + @interval)
    ON CONFLICT (name) DO UPDATE SET next_at = GREATEST(paces.next_at + @interval, excluded.next_at)
    RETURNING next_at - @interval - ${NOW_MS.postgres} AS due_in_ms`,
};

/**
 * Take the next slot of the pace `name`: how many milliseconds to wait before the request
 * (0 when it may go now). Run it as its own transaction: the row is locked until it commits.
 */
export function* takePaceSlotOp(name: string, intervalMs: number, burst = 1): Op<number> {
  const row = yield* get<{ due_in_ms: number }>(TAKE_SLOT, { name, interval: Math.max(1, Math.round(intervalMs)) });
  const toleranceMs = Math.max(0, Math.floor(burst) - 1) * intervalMs;
  return Math.max(0, Math.ceil(Number(row!.due_in_ms) - toleranceMs));
}

