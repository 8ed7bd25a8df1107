import { ouraApiForUser, requireOuraUser, storeOf, type OuraDeps } from './session.js';

/**
 * Fetch one Oura document with its user's token, as a webhook notification asks:
 * the document, or null when Oura answers 404 (it can lag behind the notification:
 * retry later). Refreshes the user's tokens as needed. Throws the typed errors of
 * ./api.ts (OuraAuthError, OuraForbiddenError, ...) and OuraReauthRequiredError from
 * ./session.ts when the user must run `wearhook auth oura` again.
 */
export async function fetchOuraDocument(deps: OuraDeps, userId: string, dataType: string, documentId: string, signal?: AbortSignal): Promise<unknown | null> {
  const user = await requireOuraUser(storeOf(deps), userId);
  return ouraApiForUser(deps, user).document(dataType, documentId, signal);
}
