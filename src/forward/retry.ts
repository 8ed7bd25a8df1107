import { RuntimeError } from '../errors.js';
import { HttpClient } from '../net/http-client.js';
import { GroupCommit } from '../receiver/group-commit.js';
import { DEFAULT_LEASE_MS, newClaimOwner } from '../store/claims.js';
import type { DB } from '../store/db.js';
import { getDelivery } from '../store/deliveries.js';
import { claimOutboxRow, retryForwardsNow } from '../store/outbox.js';
import { backoffMs, DEFAULT_RETRY_FOR_MS, sendForward, type ForwardEvent } from './dispatcher.js';

export type ForwardRetryResult =
  | { url: string; outcome: 'sent'; event: ForwardEvent }
  /** Already forwarded: nothing to do (events replay sends it again). */
  | { url: string; outcome: 'already-delivered' }
  /** A running listen holds it right now: it sends it. */
  | { url: string; outcome: 'held-elsewhere' };

/**
 * `events forward-retry ID`: the delivery's forwards that are not done get a fresh retry window
 * and are sent once, now, from this process (a running `listen` with the same target would
 * also pick them up; the claim makes sure only one sends). A failure stays pending within
 * the new window, for the next `listen --forward-to` of that URL.
 */
export async function retryForwards(db: DB, deliveryId: number, options: { target?: string; retryForMs?: number; client?: HttpClient } = {}): Promise<ForwardRetryResult[]> {
  if (!getDelivery(db, deliveryId)) throw new RuntimeError(`There is no delivery #${deliveryId}; see \`wearhook events list\`.`);
  const retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
  const rows = retryForwardsNow(db, deliveryId, { now: Date.now(), retryForMs, target: options.target });
  if (rows.length === 0) {
    throw new RuntimeError(
      options.target
        ? `Delivery #${deliveryId} was never forwarded to ${options.target}; \`wearhook events replay ${deliveryId} --to ${options.target}\` sends it.`
        : `Delivery #${deliveryId} has no forwards (no \`listen --forward-to\` took it); \`wearhook events replay ${deliveryId} --to URL\` sends it.`,
    );
  }
  const sender = {
    db,
    commits: new GroupCommit(db),
    client: options.client ?? new HttpClient({ timeoutMs: 15_000, maxRetries: 0 }),
    owner: newClaimOwner(),
    signal: new AbortController().signal,
    retryForMs,
    retryDelayMs: (attempt: number) => backoffMs(attempt),
  };
  const results: ForwardRetryResult[] = [];
  for (const { id, target, status } of rows) {
    if (status === 'done') {
      results.push({ url: target, outcome: 'already-delivered' });
      continue;
    }
    const row = claimOutboxRow(db, sender.owner, id, { now: Date.now(), leaseMs: DEFAULT_LEASE_MS });
    if (!row) {
      results.push({ url: target, outcome: 'held-elsewhere' });
      continue;
    }
    const event = await sendForward(sender, target, row);
    results.push({ url: target, outcome: 'sent', event: event! });
  }
  return results;
}
