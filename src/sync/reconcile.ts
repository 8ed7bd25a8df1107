import type { DB } from '../store/db.js';
import { lastDocumentDayOp, previousFrontierOp, type ReconcileKind } from '../store/reconcile.js';
import { listUsersOp, type UserRow } from '../store/users.js';
import { runSqlite } from '../store/sqlite-run.js';
import type { Op } from '../store/sql.js';
import { errorMessage } from '../errors.js';
import type { OuraDeps } from '../providers/oura/session.js';
import { addDays } from '../util/days.js';
import { syncOura, type TypeSyncResult } from './oura.js';

/**
 * Reconciliation (issue #17): Oura does not resend a notification it failed to deliver, and
 * some it never sends at all, so while `listen` runs, wearhook also polls. Each user's range is
 * the look-back window and every day since their last document day: the last day they had data
 * when their previous reconciliation started (or now, when none did), so that a ring that
 * synced after days offline is looked for even when most of its notifications were lost.
 * What a pass finds that no notification brought is stored as a sync run of kind `reconcile`
 * (periodic) or `catch-up` (after a stop or an outage), and counted.
 */

export interface ReconcileRange {
  user: UserRow;
  /** YYYY-MM-DD, inclusive. */
  from: string;
  to: string;
  /**
   * The user's last document day now, or, with nothing stored, the day before they were
   * authorised: recorded with the run, the next pass looks back at least that far.
   */
  frontier: string;
  /** Nothing is stored for the user yet. */
  withoutData: boolean;
  /** Looking back further was cut at MAX_LOOK_BACK_DAYS. */
  capped: boolean;
}

/** However long a user has been without data, a pass looks back at most this many days (older history: `wearhook sync`). */
export const MAX_LOOK_BACK_DAYS = 92;

/** Today as a UTC date; Oura's days are users' local days, which the range's margins cover. */
function utcDay(now: Date): string {
  return now.toISOString().slice(0, 10);
}

/**
 * Each user's range, to tomorrow, from the earliest of: the look-back window's start; their
 * last document day as their previous complete reconciliation saw it when it started (days
 * after it were unknown then: a ring that synced after days offline); and with no complete
 * reconciliation yet, the day before they were authorised (nothing was checked yet, so a gap
 * before the last document day may hide anywhere). The window counts `lookBackDays` local days
 * back from today in any time zone (a day's margin each side of UTC). Nothing further back
 * than MAX_LOOK_BACK_DAYS.
 */
export function planRanges(db: DB, users: readonly UserRow[], options: PlanOptions): ReconcileRange[] {
  return runSqlite(db, planRangesOp(users, options));
}

export interface PlanOptions {
  types: readonly string[];
  lookBackDays: number;
  now?: Date;
}

/** planRanges as a store operation: the ranges of every authorised user (`users` undefined) or of those given. */
export function* planRangesOp(users: readonly UserRow[] | undefined, options: PlanOptions): Op<ReconcileRange[]> {
  const today = utcDay(options.now ?? new Date());
  const windowFrom = addDays(today, -options.lookBackDays);
  const earliest = addDays(today, -MAX_LOOK_BACK_DAYS);
  const to = addDays(today, 1);
  const min = (a: string, b: string) => (a < b ? a : b);
  const ranges: ReconcileRange[] = [];
  for (const user of users ?? (yield* listUsersOp('oura'))) {
    const last = yield* lastDocumentDayOp('oura', user.user_id, options.types);
    const authorised = Number.isNaN(Date.parse(user.created_at)) ? today : min(addDays(utcDay(new Date(user.created_at)), -1), today);
    const frontier = last ?? authorised;
    const checkedUpTo = (yield* previousFrontierOp('oura', user.user_id))?.day ?? authorised;
    const since = min(checkedUpTo, frontier);
    const from = since < windowFrom ? (since < earliest ? earliest : since) : windowFrom;
    ranges.push({ user, from, to, frontier, withoutData: last === null, capped: since < earliest });
  }
  return ranges;
}

export interface ReconcileTypeResult {
  type: string;
  /** What Oura listed for the range. */
  found: number;
  /** Documents no notification had brought. */
  new: number;
  /** Newer versions than the stored one (an update whose notification was lost). */
  updated: number;
  unchanged: number;
  /** Stored documents Oura no longer lists (re-issued under a new id, removed): no longer exported. */
  superseded: number;
  error: string | null;
}

export interface ReconcileUserResult {
  user_id: string;
  label: string | null;
  from: string;
  to: string;
  run_id: number | null;
  types: ReconcileTypeResult[];
  error: string | null;
}

function typeResult(t: TypeSyncResult): ReconcileTypeResult {
  return { type: t.type, found: t.listed, new: t.new, updated: t.updated, unchanged: t.unchanged, superseded: t.superseded, error: t.error };
}

/** Reconcile one user over their range, as one sync run of `kind`. Never throws: a failure is in the result. */
export async function reconcileUser(deps: OuraDeps, range: ReconcileRange, types: readonly string[], kind: ReconcileKind): Promise<ReconcileUserResult> {
  const { user } = range;
  const base = { user_id: user.user_id, label: user.label, from: range.from, to: range.to };
  try {
    // Beside the receiver on its connection: no fsync of its own (what it stores can be fetched again).
    const summary = await syncOura(deps, { from: range.from, to: range.to, types, users: [user], kind, frontierDay: () => range.frontier, durable: false });
    const result = summary.users[0]!;
    return { ...base, run_id: result.run_id, types: result.types.map(typeResult), error: result.error };
  } catch (err) {
    return { ...base, run_id: null, types: [], error: errorMessage(err) };
  }
}

/** The Oura users a pass reconciles: every authorised one, in a stable order. */
export function reconcileUsers(db: DB): UserRow[] {
  return runSqlite(db, listUsersOp('oura'));
}
