import { instantOf, readTimestamp } from '../../time/instant.js';
import { localFrame, type LocalFrame } from '../../time/local-time.js';
import { writtenSpan } from '../../export/local-times.js';
import { heartRateSampleRow } from '../../export/sample-rows.js';
import { obj, str, type ExportDocument, type Obj, type Row, type RowFields, type RowSource } from '../../export/tables.js';
import { EXCLUDED_SLEEP_TYPES, sampleItems, sleepTimes } from './export-common.js';

/** Oura's timeseries: heart rate, and the series inside sleep, session and daily activity documents. */

/** The name Oura's heart-rate collection is stored under in the samples table (sync). */
export const OURA_HEART_RATE_SERIES = 'heart_rate';

/** The 5-minute heart-rate averages of a document's SampleModel (a sleep's, a session's). */
function averagesRows(doc: ExportDocument, sample: unknown, frame: LocalFrame, day: string | null, context: string, sleepId: string | null): Row<'heart_rate'>[] {
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const rows: Row<'heart_rate'>[] = [];
  for (const item of sampleItems(sample, frame)) {
    rows.push({
      provider,
      user_id,
      day,
      timestamp: local.local(item.ms, item.offset),
      bpm: item.value,
      source_id: doc.id,
      timestamp_utc: utc.utc(item.ms),
      utc_offset_min: item.offset,
      source,
      retrieved_at,
      version,
      label,
      context,
      interval_s: item.interval,
      sleep_id: sleepId,
      time_uncertain: frame.uncertain,
    });
  }
  return rows;
}

function sleepHeartRateRows(doc: ExportDocument): Row<'heart_rate'>[] {
  const d = obj(doc.data);
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type))) return [];
  return averagesRows(doc, d.heart_rate, sleepTimes(doc, d).frame, str(d.day) ?? doc.day, 'sleep', doc.id);
}

function sessionHeartRateRows(doc: ExportDocument): Row<'heart_rate'>[] {
  const d = obj(doc.data);
  const span = writtenSpan(d.start_datetime, d.end_datetime, doc.zone);
  return averagesRows(doc, d.heart_rate, localFrame(span, doc.zone), str(d.day) ?? doc.day, 'session', null);
}

const STAGES: Record<string, string> = { 1: 'deep', 2: 'light', 3: 'rem', 4: 'awake' };
const MOVEMENTS: Record<string, string> = { 1: 'no_motion', 2: 'restless', 3: 'tossing_and_turning', 4: 'active' };
const ACTIVITY_CLASSES: Record<string, string> = { 0: 'non_wear', 1: 'rest', 2: 'inactive', 3: 'low', 4: 'medium', 5: 'high' };

/**
 * The epochs of a sleep's per-character series (`sleep_phase_5_min`, `movement_30_sec`): epoch i
 * starts at bedtime_start + i x seconds. A character Oura does not document gives a null value.
 * The rows of sleep_stages and sleep_movement differ only in the name of that value's column.
 */
function epochRows<K extends 'stage' | 'movement'>(doc: ExportDocument, field: string, seconds: number, codes: Record<string, string>, column: K) {
  const d = obj(doc.data);
  const text = d[field];
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type)) || typeof text !== 'string' || text === '') return [];
  const { span, frame } = sleepTimes(doc, d);
  if (span.startMs === null) return [];
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const day = str(d.day) ?? doc.day;
  const type = str(d.type);
  const start = span.startMs;
  return [...text].map((code, epoch) => {
    const ms = start + epoch * seconds * 1000;
    const offset = frame.offsetAt(ms);
    const row: Row<'sleep_stages'> & Row<'sleep_movement'> = {
      provider,
      user_id,
      day,
      timestamp: local.local(ms, offset),
      [column]: codes[code] ?? null,
      sleep_id: doc.id,
      timestamp_utc: utc.utc(ms),
      utc_offset_min: offset,
      source,
      retrieved_at,
      version,
      label,
      epoch,
      sleep_type: type,
      time_uncertain: frame.uncertain,
    };
    return row;
  });
}

const sleepStageRows = (doc: ExportDocument): Row<'sleep_stages'>[] => epochRows(doc, 'sleep_phase_5_min', 300, STAGES, 'stage');
const sleepMovementRows = (doc: ExportDocument): Row<'sleep_movement'>[] => epochRows(doc, 'movement_30_sec', 30, MOVEMENTS, 'movement');

/**
 * An activity day's frame: from its `timestamp` (the day's start, 4 a.m. local) for 24 hours,
 * in the participant's zone when known, else at the offset Oura wrote.
 */
function activityDayFrame(doc: ExportDocument, d: Obj): { startMs: number | null; frame: LocalFrame } {
  const written = readTimestamp(d.timestamp);
  if (!written) return { startMs: null, frame: localFrame({ startMs: null, endMs: null, startOffset: null, endOffset: null }, doc.zone) };
  const startMs = instantOf(written, written.offsetMin ?? 0);
  const frame = localFrame({ startMs, endMs: startMs + 86_400_000, startOffset: written.offsetMin, endOffset: written.offsetMin }, doc.zone);
  return { startMs, frame };
}

function metRows(doc: ExportDocument): Row<'met'>[] {
  const d = obj(doc.data);
  const { frame } = activityDayFrame(doc, d);
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const day = str(d.day) ?? doc.day;
  const rows: Row<'met'>[] = [];
  for (const item of sampleItems(d.met, frame)) {
    rows.push({
      provider,
      user_id,
      day,
      timestamp: local.local(item.ms, item.offset),
      met: item.value,
      source_id: doc.id,
      timestamp_utc: utc.utc(item.ms),
      utc_offset_min: item.offset,
      source,
      retrieved_at,
      version,
      label,
      interval_s: item.interval,
      time_uncertain: frame.uncertain,
    });
  }
  return rows;
}

function activityClassRows(doc: ExportDocument): Row<'activity_class'>[] {
  const d = obj(doc.data);
  const text = d.class_5_min;
  const { startMs, frame } = activityDayFrame(doc, d);
  if (typeof text !== 'string' || startMs === null) return [];
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const day = str(d.day) ?? doc.day;
  return [...text].map((code, epoch): Row<'activity_class'> => {
    const ms = startMs + epoch * 300_000;
    const offset = frame.offsetAt(ms);
    return {
      provider,
      user_id,
      day,
      timestamp: local.local(ms, offset),
      activity_class: ACTIVITY_CLASSES[code] ?? null,
      source_id: doc.id,
      timestamp_utc: utc.utc(ms),
      utc_offset_min: offset,
      source,
      retrieved_at,
      version,
      label,
      epoch,
      time_uncertain: frame.uncertain,
    };
  });
}

const documents = (documentType: string, toRows: (doc: ExportDocument) => RowFields[]): RowSource => ({ kind: 'document', provider: 'oura', documentType, toRows });

export const OURA_SERIES_SOURCES: Record<string, RowSource[]> = {
  heart_rate: [
    { kind: 'sample', provider: 'oura', seriesType: OURA_HEART_RATE_SERIES, toRow: heartRateSampleRow },
    documents('sleep', sleepHeartRateRows),
    documents('session', sessionHeartRateRows),
  ],
  sleep_stages: [documents('sleep', sleepStageRows)],
  sleep_movement: [documents('sleep', sleepMovementRows)],
  met: [documents('daily_activity', metRows)],
  activity_class: [documents('daily_activity', activityClassRows)],
};
