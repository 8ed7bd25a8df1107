import type { DB } from '../store/db.js';

/**
 * The IANA zone a provider's user lives in, when the study knows it: the one place the
 * export asks. Null for now, so the provider's own offsets decide (see local-time.ts);
 * participants' zones (`participants add --tz`, issue "Running a study") will answer here,
 * and then every local timestamp of that user is written in that zone.
 */
export function zoneOf(_db: DB, _provider: string, _userId: string): string | null {
  return null;
}
