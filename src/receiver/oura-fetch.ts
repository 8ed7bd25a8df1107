import type { Settings } from '../config/settings.js';
import type { DB } from '../store/db.js';
import { RuntimeError } from '../errors.js';
import type { FetchOuraDocument } from './work-queue.js';

/** Fetch Oura documents as the notified user, through the Oura client and its token store. */
export function ouraDocumentFetcher(_db: DB, _settings: Settings): FetchOuraDocument {
  return async () => {
    throw new RuntimeError('fetching Oura documents needs the Oura client (issue 3), which is not in this build yet');
  };
}
