import type { Settings } from '../config/settings.js';
import type { DB } from '../store/db.js';
import type { Store } from '../store/store.js';
import { getUserOp } from '../store/users.js';
import { accountOwnerOp } from '../store/participants.js';
import { takePaceSlotOp } from '../store/paces.js';
import { fetchOuraDocument } from '../providers/oura/fetch-document.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import { OuraReauthRequiredError, OuraUserUnknownError, storeOf, type OuraDeps } from '../providers/oura/session.js';
import { OURA_REQUESTS_PER_S } from '../net/pacer.js';
import { AwaitingAuthorization, type FetchOuraDocument } from './work-queue.js';

/** A pace that every receiver on one database shares (store/paces.ts). */
export interface SharedPace {
  /** Requests per second, all processes together. */
  perSecond: number;
  /** How many may go at once after a quiet spell. */
  burst: number;
}

/**
 * The receivers' Oura fetches on PostgreSQL, all processes together: half of Oura's 5000
 * requests per 5 minutes per application (the other half is reconciliation's, net/pacer.ts),
 * in bursts of up to 8. On SQLite one process fetches (4 at a time) and is not paced.
 */
export const SHARED_FETCH_PACE: SharedPace = { perSecond: OURA_REQUESTS_PER_S / 2, burst: 8 };

/** The name of the receivers' fetch pace in the `paces` table. */
export const FETCH_PACE_NAME = 'oura:fetch';

/**
 * Fetch Oura documents as the notified user, through the Oura client and its token store
 * (refreshing as needed). A user nobody has authorized, or whose grant Oura refused, cannot be
 * fetched for until someone authorizes: their deliveries wait for that instead of retrying.
 * With `pace`, every request (each attempt, token refreshes too) first takes a slot of the
 * pace shared through the store, so that several receivers keep to Oura's limit together.
 */
export function ouraDocumentFetcher(source: DB | Store, settings: Settings, pace?: SharedPace): FetchOuraDocument {
  const deps: Pick<OuraDeps, 'db' | 'store'> = 'dialect' in source ? { store: source } : { db: source };
  const store = storeOf(deps);
  const interval = pace ? 1000 / pace.perSecond : 0;
  const http = ouraHttpClient(
    pace
      ? {
          pacer: {
            take: async () => {
              const waitMs = await store.run(takePaceSlotOp, FETCH_PACE_NAME, interval, pace.burst);
              if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
            },
          },
        }
      : {},
  );
  return async (userId, dataType, objectId, signal) => {
    try {
      return await fetchOuraDocument({ ...deps, settings, http }, userId, dataType, objectId, signal);
    } catch (err) {
      const label = await store.read(accountOwnerOp, 'oura', userId);
      const invite = label ? `send them \`wearhook participants invite ${label}\` or run \`wearhook auth oura --label ${label}\`` : 'enrol them with `wearhook participants invite LABEL` or run `wearhook auth oura`';
      if (err instanceof OuraUserUnknownError) {
        throw new AwaitingAuthorization(`waiting for Oura user ${userId} to authorize wearhook (nobody has yet): ${invite}; processed as soon as they do`);
      }
      if (err instanceof OuraReauthRequiredError && (await store.read(getUserOp, 'oura', userId))?.needs_reauth) {
        throw new AwaitingAuthorization(`waiting for Oura user ${userId} to authorize wearhook again (${err.message}); processed as soon as they do`);
      }
      throw err;
    }
  };
}
