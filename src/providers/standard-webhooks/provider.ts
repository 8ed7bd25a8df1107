import { StandardWebhook, checkStandardHeaders, readStandardHeaders } from './standard-webhook.js';
import { InvalidPayload, type DeliveryContext, type DeliveryFacts, type Provider, type ProviderName, type Work } from '../types.js';

/** What differs between Standard Webhooks senders: how to read their payloads. */
export interface PayloadReader {
  eventType(payload: unknown): string | null;
  userId(payload: unknown): string | null;
  work(payload: unknown): Work;
}

/** A Standard Webhooks sender: one verifier, the message id as idempotency key. */
export function standardWebhooksProvider(name: ProviderName, secret: string | undefined, reader: PayloadReader): Provider {
  const verifier = secret ? new StandardWebhook(secret) : undefined;
  return {
    name,
    configured: verifier !== undefined,
    checkHeaders: (headers, nowMs) =>
      verifier ? checkStandardHeaders(headers, nowMs) : { ok: false, reason: `no signing secret configured for ${name}` },
    verify: (request, nowMs) =>
      verifier ? verifier.verify(request.headers, request.body, nowMs) : { ok: false, reason: `no signing secret configured for ${name}` },
    describe(payload, request): DeliveryFacts {
      const id = readStandardHeaders(request.headers)?.id;
      // verify() has already required the headers; this guards a caller that skipped it.
      if (!id) throw new InvalidPayload('missing webhook-id header');
      return { dedupeKey: `${name}:${id}`, eventType: reader.eventType(payload), userId: reader.userId(payload) };
    },
    work: (payload, delivery) => inProviderOrder(reader.work(payload), delivery, reader.eventType(payload)),
  };
}

/**
 * Place each document of a delivery in the sender's order (CONTRACT, second edition): an
 * `...updated` event after a `...created` one, then by the signed `webhook-timestamp`. A
 * created version is never newer than an update of the same document: a retry is re-signed
 * when it is resent, so its timestamp alone would let a late `created` win.
 */
function inProviderOrder(work: Work, delivery: DeliveryContext | undefined, eventType: string | null): Work {
  const timestamp = delivery ? readStandardHeaders(delivery.headers)?.timestamp : undefined;
  if (work.kind !== 'store' || work.documents.length === 0 || !timestamp || !/^\d{1,12}$/.test(timestamp)) return work;
  const order = { rank: /\.updated$/.test(eventType ?? '') ? 1 : 0, atMs: Number(timestamp) * 1000 };
  return { ...work, documents: work.documents.map((doc) => ({ ...doc, order })) };
}
