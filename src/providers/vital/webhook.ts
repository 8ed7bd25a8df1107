import { standardWebhooksProvider } from '../standard-webhooks/provider.js';
import { asRecord, storeWork, stringField, type Provider, type Work } from '../types.js';
import { InstantFormatter, localDate } from '../../time/instant.js';
import { sampleInstant } from '../../store/samples.js';
import { vitalDay, vitalOffsetMinutes } from './times.js';
import type { DocumentInput } from '../../store/documents.js';
import type { SampleInput } from '../../store/samples.js';

/**
 * Vital (Junction) sends `{event_type, data, user_id, client_user_id, team_id}`.
 * `daily.data.<resource>.created|updated` carries the data: a summary object keyed by
 * `data.id` (sleep, activity, workouts, body, ...; a later version replaces the earlier one)
 * or timeseries samples in `data.data[]`. Other events (historical notices, connections)
 * carry nothing to store.
 */
const DAILY_DATA_RE = /^daily\.data\.([A-Za-z0-9_]+)\.(created|updated)$/;

export function vitalUserId(payload: unknown): string | null {
  const envelope = asRecord(payload);
  return stringField(asRecord(envelope?.data), 'user_id') ?? stringField(envelope, 'user_id') ?? null;
}

export function vitalWork(payload: unknown): Work {
  const envelope = asRecord(payload);
  const resource = DAILY_DATA_RE.exec(stringField(envelope, 'event_type') ?? '')?.[1];
  const data = asRecord(envelope?.data);
  const userId = vitalUserId(payload);
  if (!resource || !data || !userId) return storeWork();

  const id = stringField(data, 'id');
  if (id) {
    const startTime = stringField(data, 'bedtime_start') ?? stringField(data, 'time_start') ?? null;
    const document: DocumentInput = {
      provider: 'vital',
      type: resource,
      id,
      userId,
      day: vitalDay(data),
      startTime,
      data,
      source: 'webhook',
    };
    return storeWork({ documents: [document] });
  }

  // Timeseries samples are written in UTC with the participant's offset apart (seconds): keep
  // each at its local offset, on its local day.
  const samples: SampleInput[] = [];
  const format = new InstantFormatter();
  for (const item of Array.isArray(data.data) ? data.data : []) {
    const sample = asRecord(item);
    const written = stringField(sample, 'timestamp');
    const ms = written ? sampleInstant(written) : null;
    if (!written || ms === null) continue;
    const offset = vitalOffsetMinutes(sample ?? {});
    samples.push({
      provider: 'vital',
      userId,
      seriesType: resource,
      timestamp: offset === null ? written : format.local(ms, offset),
      day: offset === null ? written.slice(0, 10) : localDate(ms, offset),
      value: typeof sample?.value === 'number' ? sample.value : null,
      unit: stringField(sample, 'unit') ?? null,
    });
  }
  return storeWork({ samples });
}

export function vitalProvider(secret: string | undefined): Provider {
  return standardWebhooksProvider('vital', secret, {
    eventType: (payload) => stringField(asRecord(payload), 'event_type') ?? null,
    userId: vitalUserId,
    work: vitalWork,
  });
}
