import type { DB } from '../store/db.js';
import { participantZone } from '../store/participants.js';

/**
 * The IANA zone a provider's user lives in, when the study knows it: the one place the
 * export asks. It is the zone of the participant the account belongs to (`participants add
 * --tz`); null when there is none, so the provider's own offsets decide (see local-time.ts).
 * With a zone, every local timestamp of that user is written in it.
 */
export function zoneOf(db: DB, provider: string, userId: string): string | null {
  return participantZone(db, provider, userId);
}
