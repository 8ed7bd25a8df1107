import type { Provider, ProviderName } from '../providers/types.js';
import { headerPairs, type DeliveryRow } from '../store/deliveries.js';
import type { DeliveredDocument } from '../store/document-versions.js';
import { decodeJson } from '../util/json.js';

/**
 * What a hook gets: on stdin one JSON object, the delivery and what its work produced; in its
 * environment WEARHOOK_EVENT, WEARHOOK_PROVIDER, WEARHOOK_USER_ID and WEARHOOK_DELIVERY_ID.
 *
 * {
 *   "delivery": {"id", "provider", "event", "user_id", "received_at", "status", "error"},
 *   "payload": the delivery's body as JSON (an Oura notification, a Vital event, ...),
 *   "documents": [{"provider", "type", "id", "user_id", "day", "data"}]   (for Oura, the fetched document),
 *   "samples": [{"series", "timestamp", "value", "unit", "user_id"}],
 *   "deleted": [{"provider", "type", "id"}]
 * }
 */
export interface HookInput {
  json: string;
  env: Record<string, string>;
}

/** The input of a hook for a delivery and the documents it brought (documentsOfDeliveryOp). */
export function hookInput(row: DeliveryRow, documents: readonly DeliveredDocument[], providers: ReadonlyMap<ProviderName, Provider>): HookInput {
  let payload: unknown = null;
  let samples: unknown[] = [];
  let deleted: unknown[] = [];
  try {
    payload = decodeJson(row.body);
    const provider = providers.get(row.provider as ProviderName);
    const headers: Record<string, string> = {};
    for (const [name, value] of headerPairs(row)) headers[name.toLowerCase()] ??= value;
    // The work is a pure function of the payload: what it stored is computed again, not read back.
    const work = provider?.work(payload, { headers });
    if (work?.kind === 'store') {
      samples = work.samples.map((s) => ({ series: s.seriesType, timestamp: s.timestamp, value: s.value, unit: s.unit ?? null, user_id: s.userId }));
      deleted = work.deletions.map((d) => ({ provider: d.provider, type: d.type, id: d.id }));
    }
  } catch {
    // A body the work could not use: the delivery failed, and the hook hears so from its status.
  }
  const delivery = {
    id: row.id,
    provider: row.provider,
    event: row.event_type,
    user_id: row.user_id,
    received_at: row.received_at,
    status: row.status,
    error: row.error,
  };
  return {
    json: JSON.stringify({ delivery, payload, documents, samples, deleted }),
    env: {
      WEARHOOK_EVENT: row.event_type ?? '',
      WEARHOOK_PROVIDER: row.provider,
      WEARHOOK_USER_ID: row.user_id ?? '',
      WEARHOOK_DELIVERY_ID: String(row.id),
    },
  };
}
