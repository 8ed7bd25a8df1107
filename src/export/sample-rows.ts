import { sampleTimes } from './local-times.js';
import type { ExportSample, Row } from './tables.js';

/** Rows of stored timeseries samples that every provider shares. */

/**
 * One heart-rate sample (Oura's heart-rate collection, Vital's and Open Wearables' series,
 * Corsano's bpm), with the context the provider gives it (Oura only).
 */
export function heartRateSampleRow(sample: ExportSample): Row<'heart_rate'> {
  const t = sampleTimes(sample);
  const c = sample.common;
  return {
    provider: c.provider,
    user_id: c.user_id,
    day: t.day,
    timestamp: t.timestamp,
    bpm: sample.value,
    source_id: sample.sourceId,
    timestamp_utc: t.timestamp_utc,
    utc_offset_min: t.utc_offset_min,
    source: c.source,
    retrieved_at: c.retrieved_at,
    version: c.version,
    label: c.label,
    context: sample.context,
    interval_s: null,
    sleep_id: null,
    time_uncertain: t.time_uncertain,
  };
}
