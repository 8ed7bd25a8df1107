import type { Settings } from '../config/settings.js';
import type { DB } from '../store/db.js';
import { getUser } from '../store/users.js';
import { accountOwner } from '../store/participants.js';
import { fetchOuraDocument } from '../providers/oura/fetch-document.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import { OuraReauthRequiredError, OuraUserUnknownError } from '../providers/oura/session.js';
import { AwaitingAuthorization, type FetchOuraDocument } from './work-queue.js';

/**
 * Fetch Oura documents as the notified user, through the Oura client and its token store
 * (refreshing as needed). A user nobody has authorized, or whose grant Oura refused, cannot be
 * fetched for until someone authorizes: their deliveries wait for that instead of retrying.
 */
export function ouraDocumentFetcher(db: DB, settings: Settings): FetchOuraDocument {
  const http = ouraHttpClient();
  return async (userId, dataType, objectId, signal) => {
    try {
      return await fetchOuraDocument({ db, settings, http }, userId, dataType, objectId, signal);
    } catch (err) {
      const label = accountOwner(db, 'oura', userId);
      const invite = label ? `send them \`wearhook participants invite ${label}\` or run \`wearhook auth oura --label ${label}\`` : 'enrol them with `wearhook participants invite LABEL` or run `wearhook auth oura`';
      if (err instanceof OuraUserUnknownError) {
        throw new AwaitingAuthorization(`waiting for Oura user ${userId} to authorize wearhook (nobody has yet): ${invite}; processed as soon as they do`);
      }
      if (err instanceof OuraReauthRequiredError && getUser(db, 'oura', userId)?.needs_reauth) {
        throw new AwaitingAuthorization(`waiting for Oura user ${userId} to authorize wearhook again (${err.message}); processed as soon as they do`);
      }
      throw err;
    }
  };
}
