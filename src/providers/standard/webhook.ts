import { standardWebhooksProvider } from '../standard-webhooks/provider.js';
import { asRecord, storeWork, stringField, type Provider } from '../types.js';

/**
 * Any other Standard Webhooks sender: verified, deduplicated and kept in the delivery log
 * (for `events`, `--forward-to` and replay); its payload has no known shape to normalise.
 */
export function standardProvider(secret: string | undefined): Provider {
  return standardWebhooksProvider('standard', secret, {
    eventType: (payload) => stringField(asRecord(payload), 'type') ?? stringField(asRecord(payload), 'event_type') ?? null,
    userId: (payload) => {
      const envelope = asRecord(payload);
      return stringField(asRecord(envelope?.data), 'user_id') ?? stringField(envelope, 'user_id') ?? null;
    },
    work: () => storeWork(),
  });
}
