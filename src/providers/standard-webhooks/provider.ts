import { StandardWebhook, readStandardHeaders } from './standard-webhook.js';
import { InvalidPayload, type DeliveryFacts, type Provider, type ProviderName, type Work } from '../types.js';

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
    verify: (request, nowMs) =>
      verifier ? verifier.verify(request.headers, request.body, nowMs) : { ok: false, reason: `no signing secret configured for ${name}` },
    describe(payload, request): DeliveryFacts {
      const id = readStandardHeaders(request.headers)?.id;
      // verify() has already required the headers; this guards a caller that skipped it.
      if (!id) throw new InvalidPayload('missing webhook-id header');
      return { dedupeKey: `${name}:${id}`, eventType: reader.eventType(payload), userId: reader.userId(payload) };
    },
    work: (payload) => reader.work(payload),
  };
}
