import type { DB } from '../../store/db.js';
import { errorMessage } from '../../errors.js';

/**
 * Oura does not resend what it could not deliver while wearhook was stopped or its tunnel
 * was down. The catch-up polls, per user, the days from the last delivery that did arrive
 * until today, so that nothing sent in between is lost.
 */

export interface CatchUpRange {
  userId: string;
  label: string | null;
  /** YYYY-MM-DD, inclusive. */
  from: string;
  to: string;
  lastDeliveryAt: string;
}

export interface CatchUpPlan {
  ranges: CatchUpRange[];
  /** Authorized users of whom no delivery ever arrived: nothing tells where to start. */
  withoutDelivery: string[];
}

const DAY_MS = 86_400_000;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Oura's days are the user's local days, which may be up to a day either side of UTC:
 * start a day before the last delivery and end a day after today.
 */
export function planCatchUp(db: DB, now: Date = new Date()): CatchUpPlan {
  const rows = db
    .prepare(
      `SELECT u.user_id AS userId, pa.label AS label,
              (SELECT MAX(d.received_at) FROM deliveries d WHERE d.provider = 'oura' AND d.user_id = u.user_id) AS last
         FROM users u LEFT JOIN participant_accounts pa ON pa.provider = u.provider AND pa.user_id = u.user_id
        WHERE u.provider = 'oura'
        ORDER BY u.user_id`,
    )
    .all() as Array<{ userId: string; label: string | null; last: string | null }>;
  const plan: CatchUpPlan = { ranges: [], withoutDelivery: [] };
  for (const row of rows) {
    const last = row.last ? Date.parse(row.last) : Number.NaN;
    if (Number.isNaN(last)) {
      plan.withoutDelivery.push(row.userId);
      continue;
    }
    plan.ranges.push({
      userId: row.userId,
      label: row.label,
      from: utcDay(last - DAY_MS),
      to: utcDay(now.getTime() + DAY_MS),
      lastDeliveryAt: new Date(last).toISOString(),
    });
  }
  return plan;
}

export interface CatchUpLog {
  info(text: string): void;
  warn(text: string): void;
}

/** Sync each range in turn; one user's failure is reported and does not stop the others. */
export async function runCatchUp(
  plan: CatchUpPlan,
  sync: (range: CatchUpRange) => Promise<void>,
  log: CatchUpLog,
  shouldStop: () => boolean = () => false,
): Promise<void> {
  for (const userId of plan.withoutDelivery) {
    log.info(`catch-up: no delivery for Oura user ${userId} yet; for their history run \`wearhook sync --user ${userId} --from YYYY-MM-DD --to YYYY-MM-DD\``);
  }
  for (const range of plan.ranges) {
    if (shouldStop()) return;
    const who = range.label ? `${range.userId} (${range.label})` : range.userId;
    log.info(`catch-up: syncing Oura user ${who} from ${range.from} to ${range.to} (last delivery ${range.lastDeliveryAt})`);
    try {
      await sync(range);
    } catch (err) {
      log.warn(`catch-up for Oura user ${who} failed: ${errorMessage(err)}; run \`wearhook sync --user ${range.userId} --from ${range.from} --to ${range.to}\``);
    }
  }
}
