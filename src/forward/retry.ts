import { redactUrl } from '../config/setting-keys.js';
import { RuntimeError, UsageError } from '../errors.js';
import { HttpClient } from '../net/http-client.js';
import { DEFAULT_LEASE_MS, newClaimOwner } from '../store/claims.js';
import { getDeliveryOp } from '../store/deliveries.js';
import { claimOutboxRowOp, forwardsOfDeliveryOp, retryForwardsNowOp } from '../store/outbox.js';
import { keyHidesCredentials } from './targets.js';
import { backoffMs, DEFAULT_RETRY_FOR_MS, sendForward, type ForwardEvent, type ForwardSender } from './dispatcher.js';
import type { OutboxStore } from './outbox-store.js';

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
export async function retryForwards(store: OutboxStore, deliveryId: number, options: { target?: string; retryForMs?: number; client?: HttpClient } = {}): Promise<ForwardRetryResult[]> {
  if (!(await store.read(() => getDeliveryOp(deliveryId)))) throw new RuntimeError(`There is no delivery #${deliveryId}; see \`wearhook events list\`.`);
  const retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
  // Targets are stored without credentials: `--to` gives the whole URL back.
  const key = options.target === undefined ? undefined : redactUrl(options.target);
  const forwards = await store.read(() => forwardsOfDeliveryOp(deliveryId, key));
  const blind = forwards.filter((r) => r.status !== 'done' && keyHidesCredentials(r.target) && key === undefined);
  if (blind.length > 0) {
    throw new UsageError(`The forward of #${deliveryId} to ${blind[0]!.target} needs its credentials, which wearhook does not store: pass --to with the whole URL.`);
  }
  const rows = await store.write(() => retryForwardsNowOp(deliveryId, { now: Date.now(), retryForMs, target: key }));
  if (rows.length === 0) {
    throw new RuntimeError(
      options.target
        ? `Delivery #${deliveryId} was never forwarded to ${key}; \`wearhook events replay ${deliveryId} --to URL\` sends it.`
        : `Delivery #${deliveryId} has no forwards (no \`listen --forward-to\` took it); \`wearhook events replay ${deliveryId} --to URL\` sends it.`,
    );
  }
  const sender: ForwardSender = {
    store,
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
    const row = await store.write(() => claimOutboxRowOp(sender.owner, id, { now: Date.now(), leaseMs: DEFAULT_LEASE_MS }));
    if (!row) {
      results.push({ url: target, outcome: 'held-elsewhere' });
      continue;
    }
    const event = await sendForward(sender, options.target ?? target, row);
    results.push({ url: target, outcome: 'sent', event: event! });
  }
  return results;
}
