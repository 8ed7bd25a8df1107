import { errorMessage } from '../errors.js';
import { addDays } from '../util/days.js';
import { withoutFsync } from '../store/db.js';
import { storeDocumentOp, type DocumentInput, type Provenance, type StoreOutcome } from '../store/documents.js';
import { finishSyncRunOp, recordSyncRunTypeOp, startSyncRunOp, supersedeUnlistedOp } from '../store/sync-runs.js';
import { sampleValuesBetweenOp, upsertSamplesOp, type SampleInput } from '../store/samples.js';
import type { UserRow } from '../store/users.js';
import { SqliteStore, type Store } from '../store/store.js';
import type { Op, OpFunction } from '../store/sql.js';
import { OuraApiError, OuraAuthError, type OuraApi, type OuraHeartRate } from '../providers/oura/api.js';
import { ouraDocumentInput } from '../providers/oura/documents.js';
import { ouraApiForUser, storeOf, type OuraDeps } from '../providers/oura/session.js';
import { DEFAULT_OURA_SYNC_TYPES } from './oura-types.js';

/**
 * Polling: fetch each user's Oura collections for a range of days and store them. Each user's
 * run is recorded (sync_runs); a type listed completely is authoritative for the range: what
 * Oura no longer lists there is superseded (kept in the store, no longer exported).
 */

export { DEFAULT_OURA_SYNC_TYPES, OURA_SYNC_TYPES } from './oura-types.js';

/** Collections without a date filter: fetched whole. */
const UNDATED_TYPES = new Set(['ring_configuration']);

/** Heart rate is asked for at most this many days per request, keeping each answer small. */
const HEARTRATE_WINDOW_DAYS = 30;

export interface SyncCounts {
  new: number;
  updated: number;
  unchanged: number;
  /** Older than the version stored meanwhile (a webhook fetch that returned later): kept as history. */
  older: number;
  /** Stored documents of the range that Oura no longer lists (re-issued under a new id, removed). */
  superseded: number;
}

export interface TypeSyncResult extends SyncCounts {
  type: string;
  /** Documents (heart rate: samples) Oura listed for the range. */
  listed: number;
  error: string | null;
}

export interface UserSyncResult {
  provider: 'oura';
  user_id: string;
  label: string | null;
  ok: boolean;
  error: string | null;
  types: TypeSyncResult[];
  /** The recorded run (sync_runs.id). */
  run_id: number;
}

export interface SyncSummary {
  from: string;
  to: string;
  types: string[];
  users: UserSyncResult[];
  /** Per type over all users (heart rate counts samples, the rest documents). */
  totals: Record<string, SyncCounts>;
  failed: number;
}

export type SyncProgress =
  | { kind: 'type-start'; user: UserRow; type: string }
  | { kind: 'page'; user: UserRow; type: string; fetched: number }
  | { kind: 'type-done'; user: UserRow; type: string; result: TypeSyncResult };

export interface OuraSyncOptions {
  /** First and last day, YYYY-MM-DD, both inclusive. */
  from: string;
  to: string;
  types?: readonly string[];
  users: readonly UserRow[];
  onProgress?: (event: SyncProgress) => void;
  /** What started the sync, recorded with each run: 'sync' (the command, default), 'catch-up', 'reconcile'. */
  kind?: string;
  /** Reconciliation: each user's last document day when it started, recorded with their run. */
  frontierDay?: (user: UserRow) => string | null;
  /**
   * false: commit without waiting for an fsync (store/db.ts `withoutFsync`), for a sync beside a
   * receiver on the same connection: what it stores can be fetched again. Default true.
   */
  durable?: boolean;
}

/** Runs one transaction of a sync's writes, committed as `durable` says. */
type Writer = <A extends unknown[], T>(fn: OpFunction<A, T>, ...args: A) => Promise<T>;

/**
 * How a sync's writes are committed (see `durable`). Each is one transaction; on SQLite an
 * IMMEDIATE one: the write lock is taken (waiting for other processes) before the first read,
 * where a transaction that reads first fails with "database is locked" when another process writes meanwhile.
 */
function writer(store: Store, options: OuraSyncOptions): Writer {
  if (options.durable === false && store instanceof SqliteStore) return (fn, ...args) => withoutFsync(store.db, () => store.run(fn, ...args));
  return (fn, ...args) => store.run(fn, ...args);
}

/**
 * Sync each user in turn. A data type Oura refuses (403: scope missing) does not stop the
 * user's other types; anything else (a grant that no longer works, an unreachable or
 * overloaded Oura) ends that user's turn.
 * Running it twice stores nothing new the second time.
 */
export async function syncOura(deps: OuraDeps, options: OuraSyncOptions): Promise<SyncSummary> {
  const types = [...(options.types ?? DEFAULT_OURA_SYNC_TYPES)];
  const summary: SyncSummary = { from: options.from, to: options.to, types, users: [], totals: {}, failed: 0 };
  for (const type of types) summary.totals[type] = emptyCounts();

  const store = storeOf(deps);
  const write = writer(store, options);
  for (const user of options.users) {
    const run = await write(startSyncRunOp, {
      provider: 'oura',
      kind: options.kind ?? 'sync',
      userId: user.user_id,
      types,
      from: options.from,
      to: options.to,
      frontierDay: options.frontierDay?.(user) ?? null,
    }, new Date());
    const result: UserSyncResult = { provider: 'oura', user_id: user.user_id, label: user.label, ok: true, error: null, types: [], run_id: run.id };
    summary.users.push(result);
    const api = ouraApiForUser(deps, user);
    for (const type of types) {
      options.onProgress?.({ kind: 'type-start', user, type });
      const counts: TypeSyncResult = { type, ...emptyCounts(), listed: 0, error: null };
      result.types.push(counts);
      const onPage = (fetched: number): void => options.onProgress?.({ kind: 'page', user, type, fetched });
      let fatal = false;
      let listed = 0;
      try {
        if (type === 'heartrate') listed = await syncHeartRate(write, api, user, options, counts, onPage);
        else listed = await syncCollection(write, api, user, type, options, counts, onPage, run);
      } catch (err) {
        counts.error = errorMessage(err);
        fatal = !onlyThisType(err);
      }
      counts.listed = listed;
      await write(recordSyncRunTypeOp, run.id, type, counts, { complete: counts.error === null, error: counts.error });
      const total = summary.totals[type]!;
      for (const key of COUNT_KEYS) total[key] += counts[key];
      options.onProgress?.({ kind: 'type-done', user, type, result: counts });
      if (fatal) break;
    }
    const errors = result.types.filter((t) => t.error !== null);
    if (errors.length > 0) {
      result.ok = false;
      // One failure reason when they all share it (an expired grant), else per type.
      const distinct = [...new Set(errors.map((t) => t.error))];
      result.error = distinct.length === 1 ? distinct[0]! : errors.map((t) => `${t.type}: ${t.error}`).join(' ');
      summary.failed++;
    }
    await write(finishSyncRunOp, run.id, result.error, new Date());
  }
  return summary;
}

const COUNT_KEYS = ['new', 'updated', 'unchanged', 'older', 'superseded'] as const;

function emptyCounts(): SyncCounts {
  return { new: 0, updated: 0, unchanged: 0, older: 0, superseded: 0 };
}

async function syncCollection(
  write: Writer,
  api: OuraApi,
  user: UserRow,
  type: string,
  options: OuraSyncOptions,
  counts: SyncCounts,
  onPage: (fetched: number) => void,
  run: { id: number; startedAt: string },
): Promise<number> {
  // Oura's date filters are not inclusive at both ends for every collection (sleep skips the
  // start day, daily collections the end day): ask for a day more on each side, keep [from, to].
  const range = UNDATED_TYPES.has(type) ? undefined : { startDate: addDays(options.from, -1), endDate: addDays(options.to, 1) };
  let fetched = 0;
  const listed: string[] = [];
  for await (const page of api.collectionPages(type, range)) {
    // Oura's order is the order of fetches: this page is newer than anything fetched before it.
    const provenance = { source: 'sync', retrievedAt: new Date(), syncRunId: run.id } as const;
    const inRange = page.filter((doc) => {
      const day = (doc as { day?: unknown } | null)?.day;
      return typeof day !== 'string' || (day >= options.from && day <= options.to);
    });
    const inputs = inRange.map((doc) => ouraDocumentInput(type, user.user_id, doc, 'sync'));
    for (const input of inputs) listed.push(input.id);
    for (const outcome of await write(storePageOp, inputs, provenance)) count(counts, outcome);
    fetched += inRange.length;
    onPage(fetched);
  }
  // Every page arrived: the listing is complete, and authoritative for the range.
  const undated = UNDATED_TYPES.has(type);
  counts.superseded += await write(supersedeUnlistedOp, {
    runId: run.id,
    runStartedAt: run.startedAt,
    provider: 'oura',
    type,
    userId: user.user_id,
    from: undated ? null : options.from,
    to: undated ? null : options.to,
    listedIds: listed,
  }, new Date());
  return listed.length;
}

/** One page of documents, each version stored (and made current when newest) in one transaction. */
function* storePageOp(inputs: readonly DocumentInput[], provenance: Provenance): Op<StoreOutcome[]> {
  const outcomes: StoreOutcome[] = [];
  for (const input of inputs) outcomes.push(yield* storeDocumentOp(input, provenance));
  return outcomes;
}

async function syncHeartRate(
  write: Writer,
  api: OuraApi,
  user: UserRow,
  options: OuraSyncOptions,
  counts: SyncCounts,
  onPage: (fetched: number) => void,
): Promise<number> {
  let fetched = 0;
  for (let first = options.from; first <= options.to; first = addDays(first, HEARTRATE_WINDOW_DAYS)) {
    const lastCandidate = addDays(first, HEARTRATE_WINDOW_DAYS - 1);
    const last = lastCandidate < options.to ? lastCandidate : options.to;
    const pages = api.heartRatePages({ startDatetime: `${first}T00:00:00+00:00`, endDatetime: `${last}T23:59:59+00:00` });
    for await (const page of pages) {
      const found = await write(storeHeartRateOp, user, page);
      counts.new += found.new;
      counts.updated += found.updated;
      counts.unchanged += found.unchanged;
      fetched += page.length;
      onPage(fetched);
    }
  }
  return fetched;
}

/** Heart rate has no document id: one sample row per instant, written only when new or changed. */
function* storeHeartRateOp(user: UserRow, page: readonly OuraHeartRate[]): Op<Pick<SyncCounts, 'new' | 'updated' | 'unchanged'>> {
  // Counted here and added by the caller: PostgreSQL may run this again after a deadlock.
  const counts = { new: 0, updated: 0, unchanged: 0 };
  const samples = page
    .filter((s) => typeof s?.timestamp === 'string' && !Number.isNaN(Date.parse(s.timestamp)))
    .map((s) => ({ sample: s, epoch: Date.parse(s.timestamp) }));
  if (samples.length === 0) return counts;
  const lowest = samples.reduce((min, s) => Math.min(min, s.epoch), Infinity);
  const highest = samples.reduce((max, s) => Math.max(max, s.epoch), -Infinity);
  const existing = yield* sampleValuesBetweenOp('oura', user.user_id, 'heart_rate', lowest, highest);
  const changed: SampleInput[] = [];
  for (const { sample, epoch } of samples) {
    const value = typeof sample.bpm === 'number' ? sample.bpm : null;
    // Oura's `source` (awake, rest, sleep, ...): what the wearer was doing.
    const context = typeof sample.source === 'string' ? sample.source : null;
    const stored = existing.get(epoch);
    if (!stored) counts.new++;
    else if (stored.value !== value || stored.context !== context) counts.updated++;
    else {
      counts.unchanged++;
      continue;
    }
    changed.push({
      provider: 'oura',
      userId: user.user_id,
      seriesType: 'heart_rate',
      timestamp: sample.timestamp,
      day: sample.timestamp.slice(0, 10),
      value,
      unit: 'bpm',
      sourceId: null,
      context,
    });
  }
  if (changed.length > 0) yield* upsertSamplesOp(changed, { source: 'sync', retrievedAt: new Date() });
  return counts;
}

/** Refusals of one data type (a scope not granted, a bad parameter) leave the user's other types worth trying. */
function onlyThisType(err: unknown): boolean {
  return err instanceof OuraApiError && !(err instanceof OuraAuthError) && [400, 403, 404, 422].includes(err.status);
}

function count(counts: SyncCounts, outcome: StoreOutcome): void {
  counts[outcome]++;
}
