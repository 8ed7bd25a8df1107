import type { Store } from '../store/store.js';
import { OURA_WEBHOOK_EVENT_TYPES } from '../providers/oura/data-types.js';
import { OuraApiError } from '../providers/oura/api.js';
import { NoSuchSubscriptionError, type OuraSubscription, type OuraSubscriptionsApi } from '../providers/oura/subscriptions-api.js';
import {
  addPendingVerificationTokenOp,
  deleteStoredSubscriptionOp,
  getStoredSubscriptionOp,
  hashVerificationToken,
  listStoredSubscriptionsOp,
  newVerificationToken,
  removePendingVerificationTokenOp,
  saveCreatedSubscriptionOp,
  syncSubscriptionsOp,
  upsertSubscriptionOp,
  type SubscriptionRecord,
} from '../store/subscriptions.js';

/**
 * Oura webhook subscriptions: create, list, renew and delete, keeping the store in step with
 * Oura. Independent of the command line: `subs` and `listen --subscribe` both call these.
 */

export interface SubscriptionDeps {
  api: OuraSubscriptionsApi;
  /** SQLite or PostgreSQL. */
  store: Store;
  now?: () => Date;
}

/** A subscription as `subs list --json` shows it. */
export interface SubscriptionView {
  id: string;
  callback_url: string;
  event_type: string;
  data_type: string;
  expiration_time: string | null;
  /** Seconds until expiry (negative once expired); null when Oura gave no readable time. */
  expires_in_s: number | null;
  expired: boolean;
  /** Expires within EXPIRING_SOON_MS and has not yet. */
  expiring_soon: boolean;
  /** wearhook made it and knows its verification token (as a hash): `listen` can answer its challenge. */
  created_by_wearhook: boolean;
}

export const EXPIRING_SOON_MS = 7 * 86_400_000;

export function subscriptionView(sub: SubscriptionRecord & { created_by_wearhook?: number | boolean }, now: Date): SubscriptionView {
  const expiresAt = sub.expiration_time ? Date.parse(sub.expiration_time) : Number.NaN;
  const left = Number.isNaN(expiresAt) ? null : expiresAt - now.getTime();
  return {
    id: sub.id,
    callback_url: sub.callback_url,
    event_type: sub.event_type,
    data_type: sub.data_type,
    expiration_time: sub.expiration_time || null,
    expires_in_s: left === null ? null : Math.floor(left / 1000),
    expired: left !== null && left <= 0,
    expiring_soon: left !== null && left > 0 && left <= EXPIRING_SOON_MS,
    created_by_wearhook: Boolean(sub.created_by_wearhook),
  };
}

const clock = (deps: SubscriptionDeps) => deps.now?.() ?? new Date();

/** Oura's list, mirrored into the store (subscriptions made elsewhere appear too). */
export async function listAndSync(deps: SubscriptionDeps): Promise<SubscriptionView[]> {
  const listedAt = clock(deps);
  const remote = await deps.api.list();
  await deps.store.run(syncSubscriptionsOp, remote, listedAt, clock(deps));
  const now = clock(deps);
  return (await deps.store.read(listStoredSubscriptionsOp)).map((row) => subscriptionView(row, now));
}

export interface CreateRequest {
  callbackUrl: string;
  /** Data types as given; unknown ones are passed to Oura as they are. */
  dataTypes: readonly string[];
  eventTypes?: readonly string[];
  /** One token for all; by default each subscription gets its own random one. */
  verificationToken?: string;
  /** Called as each pair is done, for progress. */
  onOutcome?: (outcome: CreateOutcome) => void;
}

export type CreateOutcome =
  | { event_type: string; data_type: string; status: 'created' | 'exists'; subscription: SubscriptionView }
  | { event_type: string; data_type: string; status: 'failed'; error: Error };

/**
 * One subscription per (event type, data type) pair. A pair that already has a subscription
 * to the same callback URL is reported as `exists` and left alone, so running it again after
 * a partial failure only creates what is missing. Failures do not stop the other pairs.
 */
export async function createSubscriptions(deps: SubscriptionDeps, req: CreateRequest): Promise<CreateOutcome[]> {
  const existing = await listAndSync(deps);
  const eventTypes = req.eventTypes ?? OURA_WEBHOOK_EVENT_TYPES;
  const outcomes: CreateOutcome[] = [];
  const done = (outcome: CreateOutcome) => {
    outcomes.push(outcome);
    req.onOutcome?.(outcome);
  };
  for (const dataType of unique(req.dataTypes)) {
    for (const eventType of unique(eventTypes)) {
      const samePair = existing.filter((s) => s.data_type === dataType && s.event_type === eventType);
      const same = samePair.find((s) => s.callback_url === req.callbackUrl);
      if (same) {
        done({ event_type: eventType, data_type: dataType, status: 'exists', subscription: same });
        continue;
      }
      try {
        const created = await createOne(deps, { callbackUrl: req.callbackUrl, verificationToken: req.verificationToken, dataType, eventType });
        done({ event_type: eventType, data_type: dataType, status: 'created', subscription: created });
      } catch (err) {
        const other = samePair[0];
        const error =
          err instanceof OuraApiError && err.status === 409 && other
            ? new OuraApiError(
                `Oura already has subscription ${other.id} for ${dataType}/${eventType}, to ${other.callback_url}; delete it first (\`wearhook subs delete ${other.id}\`).`,
                409,
              )
            : asError(err);
        done({ event_type: eventType, data_type: dataType, status: 'failed', error });
      }
    }
  }
  return outcomes;
}

/**
 * The token's hash is in the store before Oura is called, because Oura's challenge reaches
 * the receiver (perhaps another process on the same database) while this call still waits.
 */
async function createOne(
  deps: SubscriptionDeps,
  req: { callbackUrl: string; dataType: string; eventType: string; verificationToken?: string },
): Promise<SubscriptionView> {
  const token = req.verificationToken ?? newVerificationToken();
  const tokenSha256 = hashVerificationToken(token);
  const pendingId = await deps.store.run(
    addPendingVerificationTokenOp,
    { tokenSha256, callbackUrl: req.callbackUrl, eventType: req.eventType, dataType: req.dataType },
    clock(deps),
  );
  let sub: OuraSubscription;
  try {
    sub = await deps.api.create({ callbackUrl: req.callbackUrl, verificationToken: token, eventType: req.eventType, dataType: req.dataType });
  } catch (err) {
    await deps.store.run(removePendingVerificationTokenOp, pendingId);
    throw err;
  }
  await deps.store.run(saveCreatedSubscriptionOp, sub, tokenSha256, pendingId, clock(deps));
  return subscriptionView({ ...sub, created_by_wearhook: true }, clock(deps));
}

/** Which subscriptions `renew` or `delete` act on. */
export type Selection = { ids: readonly string[] } | { all: true } | { expiringWithinMs: number };

/** The ids a selection names; `all` and `expiringWithinMs` ask Oura for the current list. */
export async function selectSubscriptions(deps: SubscriptionDeps, selection: Selection): Promise<string[]> {
  if ('ids' in selection) return unique(selection.ids);
  const subs = await listAndSync(deps);
  if ('all' in selection) return subs.map((s) => s.id);
  const limitS = selection.expiringWithinMs / 1000;
  return subs.filter((s) => s.expires_in_s !== null && s.expires_in_s <= limitS).map((s) => s.id);
}

export type RenewOutcome = { id: string; status: 'renewed'; subscription: SubscriptionView } | { id: string; status: 'failed'; error: Error };

export async function renewSubscriptions(deps: SubscriptionDeps, selection: Selection): Promise<RenewOutcome[]> {
  const ids = await selectSubscriptions(deps, selection);
  const outcomes: RenewOutcome[] = [];
  for (const id of ids) {
    try {
      const sub = await deps.api.renew(id);
      await deps.store.run(upsertSubscriptionOp, sub, {}, clock(deps));
      outcomes.push({ id, status: 'renewed', subscription: subscriptionView((await deps.store.read(getStoredSubscriptionOp, sub.id)) ?? sub, clock(deps)) });
    } catch (err) {
      if (err instanceof NoSuchSubscriptionError) await deps.store.run(deleteStoredSubscriptionOp, id);
      outcomes.push({ id, status: 'failed', error: asError(err) });
    }
  }
  return outcomes;
}

export type DeleteOutcome = { id: string; status: 'deleted' } | { id: string; status: 'failed'; error: Error };

/** Delete the given ids (resolve `--all` with selectSubscriptions first, so it can be confirmed). */
export async function deleteSubscriptions(deps: SubscriptionDeps, ids: readonly string[]): Promise<DeleteOutcome[]> {
  const outcomes: DeleteOutcome[] = [];
  for (const id of unique(ids)) {
    try {
      await deps.api.delete(id);
      await deps.store.run(deleteStoredSubscriptionOp, id);
      outcomes.push({ id, status: 'deleted' });
    } catch (err) {
      // Oura does not know it: nothing of it should stay in the store either.
      if (err instanceof NoSuchSubscriptionError) await deps.store.run(deleteStoredSubscriptionOp, id);
      outcomes.push({ id, status: 'failed', error: asError(err) });
    }
  }
  return outcomes;
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
