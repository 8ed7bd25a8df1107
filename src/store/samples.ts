import type { DB } from './db.js';
import { instantOf, readTimestamp } from '../time/instant.js';
import { all, epochMsOf, inJsonList, lock, run, sql, type Op } from './sql.js';
import { runSqlite, transactSqlite } from './sqlite-run.js';

/** One timeseries sample (an Open Wearables RMSSD value, ...). Unique per (provider, user, series, instant). */
export interface SampleInput {
  provider: string;
  userId: string;
  seriesType: string;
  /** ISO 8601 as the provider gave it (offset kept). */
  timestamp: string;
  /** The provider's local day of the sample, YYYY-MM-DD. */
  day: string;
  value: number | null;
  unit?: string | null;
  sourceId?: string | null;
  /** What the provider says the wearer was doing (Oura heart rate's `source`). */
  context?: string | null;
}

/** How the samples were obtained (CONTRACT: `source`, `retrieved_at`). */
export interface SampleProvenance {
  source: 'webhook' | 'sync';
  retrievedAt: Date;
}

/**
 * The instant of a sample's timestamp. One written without an offset is read as UTC, never
 * in the machine's own zone.
 */
export function sampleInstant(timestamp: string): number | null {
  const written = readTimestamp(timestamp);
  return written ? instantOf(written, 0) : null;
}

/** Upsert many samples in one transaction; a resent chunk replaces, never duplicates. Returns how many rows were written. */
export function upsertSamples(db: DB, samples: readonly SampleInput[], provenance?: SampleProvenance): number {
  // The receiver calls this for every delivery, most of which carry no samples: nothing to run for them.
  if (samples.length === 0) return 0;
  // Statements are compiled once per connection (runSqlite). Inside the receiver's group commit the caller's
  // transaction holds the lock already; otherwise IMMEDIATE: wait for the write lock rather than fail when another process (a second sync, listen) writes.
  return transactSqlite(db, upsertSamplesOp, samples, provenance);
}

export function* upsertSamplesOp(samples: readonly SampleInput[], provenance?: SampleProvenance): Op<number> {
  const source = provenance?.source ?? null;
  const retrievedAt = (provenance?.retrievedAt ?? new Date()).toISOString();
  let written = 0;
  for (const s of samples) {
    const epoch = sampleInstant(s.timestamp);
    if (epoch === null) continue;
    const result = yield* run(
      `INSERT INTO samples (provider, user_id, series_type, epoch_ms, timestamp, day, value, unit, source_id, source, retrieved_at, context)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (provider, user_id, series_type, epoch_ms) DO UPDATE SET
         timestamp = excluded.timestamp, day = excluded.day, value = excluded.value,
         unit = excluded.unit, source_id = excluded.source_id, source = excluded.source, retrieved_at = excluded.retrieved_at,
         context = excluded.context`,
      [s.provider, s.userId, s.seriesType, epoch, s.timestamp, s.day, s.value, s.unit ?? null, s.sourceId ?? null, source, retrievedAt, s.context ?? null],
    );
    written += result.changes;
  }
  return written;
}

/** Stored values (and contexts) of one series between two instants (inclusive), by epoch ms; lets `sync` tell new from unchanged. */
export function sampleValuesBetween(
  db: DB,
  provider: string,
  userId: string,
  seriesType: string,
  fromEpochMs: number,
  toEpochMs: number,
): Map<number, { value: number | null; context: string | null }> {
  return runSqlite(db, sampleValuesBetweenOp(provider, userId, seriesType, fromEpochMs, toEpochMs));
}

export function* sampleValuesBetweenOp(
  provider: string,
  userId: string,
  seriesType: string,
  fromEpochMs: number,
  toEpochMs: number,
): Op<Map<number, { value: number | null; context: string | null }>> {
  const rows = yield* all<{ epoch_ms: number; value: number | null; context: string | null }>(
    'SELECT epoch_ms, value, context FROM samples WHERE provider = ? AND user_id = ? AND series_type = ? AND epoch_ms BETWEEN ? AND ?',
    [provider, userId, seriesType, fromEpochMs, toEpochMs],
  );
  return new Map(rows.map((r) => [Number(r.epoch_ms), { value: r.value, context: r.context }]));
}

/** The sleep a sample was taken in: same provider and user, current, not deleted, its period containing the sample. */
const SLEEP_OF_SAMPLE = `FROM documents d
  WHERE d.provider = s.provider AND d.type = 'sleep' AND d.user_id = s.user_id AND d.deleted = 0 AND d.superseded_by_run IS NULL
    AND d.day IS NOT NULL
    AND s.epoch_ms >= unixepoch(d.start_time, 'subsec') * 1000 AND s.epoch_ms <= unixepoch(d.end_time, 'subsec') * 1000
  ORDER BY d.start_time LIMIT 1`;

/** The statement that gives samples their sleep's day and id; the sample's own written date when in no sleep. */
export const ATTRIBUTE_SAMPLES_SQL = `UPDATE samples AS s SET
  day = COALESCE((SELECT d.day ${SLEEP_OF_SAMPLE}), substr(s.timestamp, 1, 10)),
  sleep_id = (SELECT d.id ${SLEEP_OF_SAMPLE})`;

/**
 * Give the samples of `seriesTypes` between `fromMs` and `toMs` the day and id of the sleep
 * they fall in (the same provider and user's `sleep` document whose period contains them); a
 * sample in no sleep keeps its own local date. Run after storing samples or a sleep, whichever came last.
 */
export function attributeSamplesToSleepDays(
  db: DB,
  target: { provider: string; userId: string; seriesTypes: readonly string[]; fromMs: number; toMs: number },
): number {
  return runSqlite(db, attributeSamplesToSleepDaysOp(target));
}

/** The sleep a sample was taken in, in either dialect (SLEEP_OF_SAMPLE). */
const SLEEP_OF_SAMPLE_SQL = sql`FROM documents d
  WHERE d.provider = s.provider AND d.type = 'sleep' AND d.user_id = s.user_id AND d.deleted = 0 AND d.superseded_by_run IS NULL
    AND d.day IS NOT NULL
    AND s.epoch_ms >= ${epochMsOf('d.start_time')} AND s.epoch_ms <= ${epochMsOf('d.end_time')}
  ORDER BY d.start_time LIMIT 1`;

export function* attributeSamplesToSleepDaysOp(target: {
  provider: string;
  userId: string;
  seriesTypes: readonly string[];
  fromMs: number;
  toMs: number;
}): Op<number> {
  if (target.seriesTypes.length === 0) return 0;
  // On PostgreSQL a sleep and its samples may be stored at once by two receivers, each transaction blind to the
  // other's rows: whichever attributes second must wait for the first to commit, so that it sees the sleep (or the
  // samples) and no sample is left outside its sleep. The lock is taken after this transaction's own writes and held
  // to its end; each statement then reads what committed before it (READ COMMITTED).
  yield* lock(`sleep-attribution:${JSON.stringify([target.provider, target.userId])}`);
  const statement = sql`UPDATE samples AS s SET
    day = COALESCE((SELECT d.day ${SLEEP_OF_SAMPLE_SQL}), substr(s.timestamp, 1, 10)),
    sleep_id = (SELECT d.id ${SLEEP_OF_SAMPLE_SQL})
    WHERE s.provider = ? AND s.user_id = ? AND ${inJsonList('s.series_type', '?')} AND s.epoch_ms BETWEEN ? AND ?`;
  return (yield* run(statement, [target.provider, target.userId, JSON.stringify(target.seriesTypes), target.fromMs, target.toMs])).changes;
}
