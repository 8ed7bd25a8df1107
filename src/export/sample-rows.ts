import { sampleTimes, type SampleTimes } from './local-times.js';
import type { ExportSample, Row } from './tables.js';

/** Rows of stored timeseries samples that every provider shares. */

/** The columns every sample row has: who, when (local, UTC, offset, certainty) and how it was obtained. */
export function sampleColumns(sample: ExportSample, t: SampleTimes = sampleTimes(sample)) {
  const c = sample.common;
  return {
    provider: c.provider,
    user_id: c.user_id,
    day: t.day,
    timestamp: t.timestamp,
    timestamp_utc: t.timestamp_utc,
    utc_offset_min: t.utc_offset_min,
    source: c.source,
    retrieved_at: c.retrieved_at,
    version: c.version,
    label: c.label,
    time_uncertain: t.time_uncertain,
  };
}

/**
 * One heart-rate sample (Oura's heart-rate collection, Vital's and Open Wearables' series,
 * Corsano's bpm), with the context the provider gives it (Oura only).
 */
export function heartRateSampleRow(sample: ExportSample): Row<'heart_rate'> {
  return Object.assign(sampleColumns(sample), {
    bpm: sample.value,
    source_id: sample.sourceId,
    context: sample.context,
    interval_s: null,
    sleep_id: null,
  } satisfies Row<'heart_rate'>);
}
