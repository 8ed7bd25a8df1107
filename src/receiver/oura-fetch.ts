import type { Settings } from '../config/settings.js';
import type { DB } from '../store/db.js';
import { fetchOuraDocument } from '../providers/oura/fetch-document.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import type { FetchOuraDocument } from './work-queue.js';

/** Fetch Oura documents as the notified user, through the Oura client and its token store (refreshing as needed). */
export function ouraDocumentFetcher(db: DB, settings: Settings): FetchOuraDocument {
  const http = ouraHttpClient();
  return (userId, dataType, objectId, signal) => fetchOuraDocument({ db, settings, http }, userId, dataType, objectId, signal);
}
