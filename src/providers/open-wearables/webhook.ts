import { standardWebhooksProvider } from '../standard-webhooks/provider.js';
import { asRecord, storeWork, stringField, type Provider, type Work } from '../types.js';
import { localDay } from '../../util/iso.js';
import type { SampleInput } from '../../store/samples.js';

/**
 * Open Wearables sends `{type, data}`. Summaries (`sleep.created`, `workout.created`, ...)
 * carry one object keyed by `data.id`; timeseries batches (`series.<series_type>.created`,
 * and the group event such as `heart_rate_variability.created`, both sent for each batch)
 * carry `data.samples[]`, large ones in chunks. Both events of a batch store the same
 * samples, which the store keeps once.
 */
const SERIES_EVENT_RE = /^series\.([A-Za-z0-9_]+)\.created$/;

/** HRV samples belong to the day of the sleep they were taken in, not their own date. */
const SLEEP_DAY_SERIES = ['heart_rate_variability_rmssd', 'heart_rate_variability_sdnn'] as const;

export function openWearablesWork(payload: unknown): Work {
  const envelope = asRecord(payload);
  const type = stringField(envelope, 'type') ?? '';
  const data = asRecord(envelope?.data);
  const userId = stringField(data, 'user_id');
  if (!data || !userId) return storeWork();

  if (Array.isArray(data.samples)) {
    const batchSeries = stringField(data, 'series_type') ?? SERIES_EVENT_RE.exec(type)?.[1] ?? type.replace(/\.created$/, '');
    const samples: SampleInput[] = [];
    for (const item of data.samples) {
      const sample = asRecord(item);
      const timestamp = stringField(sample, 'timestamp');
      const day = timestamp ? localDay(timestamp) : null;
      if (!timestamp || !day) continue;
      samples.push({
        provider: 'open-wearables',
        userId,
        seriesType: stringField(sample, 'series_type') ?? batchSeries,
        timestamp,
        day,
        value: typeof sample?.value === 'number' ? sample.value : null,
        unit: stringField(sample, 'unit') ?? stringField(data, 'unit') ?? null,
        sourceId: stringField(data, 'id') ?? null,
      });
    }
    return storeWork({ samples, sleepDaySeries: SLEEP_DAY_SERIES });
  }

  const id = stringField(data, 'id');
  const kind = /^([a-z0-9_]+)\.(created|updated)$/.exec(type)?.[1];
  if (!id || !kind || kind === 'connection') return storeWork();
  // The day a sleep or workout belongs to is the local date it ends on (offset kept).
  const end = stringField(data, 'end_time') ?? stringField(data, 'start_time') ?? stringField(data, 'date');
  return storeWork({
    documents: [
      {
        provider: 'open-wearables',
        type: kind,
        id,
        userId,
        day: end ? localDay(end) : null,
        startTime: stringField(data, 'start_time') ?? null,
        endTime: stringField(data, 'end_time') ?? null,
        data,
        source: 'webhook',
      },
    ],
    sleepDaySeries: kind === 'sleep' ? SLEEP_DAY_SERIES : undefined,
  });
}

export function openWearablesProvider(secret: string | undefined): Provider {
  return standardWebhooksProvider('open-wearables', secret, {
    eventType: (payload) => stringField(asRecord(payload), 'type') ?? null,
    userId: (payload) => stringField(asRecord(asRecord(payload)?.data), 'user_id') ?? null,
    work: openWearablesWork,
  });
}
