import { instantOf, readTimestamp } from '../../time/instant.js';
import { localFrame } from '../../time/local-time.js';
import { offsetOfWritten, spanColumns, writtenSpan } from '../../export/local-times.js';
import { num, str, withCommon, type ExportDocument, type RowFields, type RowSource } from '../../export/tables.js';

/** How Oura documents become export rows (CONTRACT.md, Export, first and second edition). */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/**
 * Periods that are not sleep: `deleted` (removed by the user) and `rest` (falsely detected,
 * rejected by the user). Left out of `sleep` and of `hrv` alike.
 */
const EXCLUDED_SLEEP_TYPES = new Set(['deleted', 'rest']);

/** A sleep's bedtimes, and the offset in force at each instant of the night. */
function sleepTimes(doc: ExportDocument, d: Obj) {
  const span = writtenSpan(d.bedtime_start, d.bedtime_end, doc.zone);
  return { span, frame: localFrame(span, doc.zone) };
}

function sleepRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type))) return [];
  const { span, frame } = sleepTimes(doc, d);
  const t = spanColumns(doc.times, span, frame);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      bedtime_start: t.start ?? str(d.bedtime_start),
      bedtime_end: t.end ?? str(d.bedtime_end),
      type: str(d.type),
      total_sleep_s: num(d.total_sleep_duration),
      time_in_bed_s: num(d.time_in_bed),
      deep_s: num(d.deep_sleep_duration),
      light_s: num(d.light_sleep_duration),
      rem_s: num(d.rem_sleep_duration),
      awake_s: num(d.awake_time),
      efficiency_pct: num(d.efficiency),
      latency_s: num(d.latency),
      avg_hr_bpm: num(d.average_heart_rate),
      lowest_hr_bpm: num(d.lowest_heart_rate),
      avg_hrv_ms: num(d.average_hrv),
      // Oura's spec says breaths per second; its values (about 14) are breaths per minute.
      avg_breath_rpm: num(d.average_breath),
      source_id: doc.id,
      bedtime_start_utc: t.startUtc,
      bedtime_end_utc: t.endUtc,
      utc_offset_min: t.offset,
      is_main_sleep: d.type === undefined || d.type === null ? null : d.type === 'long_sleep',
      time_uncertain: t.uncertain,
      sleep_algorithm_version: str(d.sleep_algorithm_version),
      sleep_analysis_reason: str(d.sleep_analysis_reason),
    }),
  ];
}

/**
 * One row per non-null 5-minute RMSSD item: the instant is `hrv.timestamp` + index x
 * `interval`, written in the offset in force at that instant (a night across a DST change
 * switches offset at the change). HRV of rest and deleted periods is left out, as in `sleep`.
 */
function hrvRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type))) return [];
  const hrv = obj(d.hrv);
  const items = Array.isArray(hrv.items) ? hrv.items : [];
  const written = readTimestamp(hrv.timestamp);
  const interval = num(hrv.interval);
  if (!written || interval === null || items.length === 0) return [];
  const { frame } = sleepTimes(doc, d);
  // A bare hrv.timestamp is a local time of the night's start (never the machine's zone).
  const first = instantOf(written, written.offsetMin ?? frame.startOffset);
  const day = str(d.day) ?? doc.day;
  const type = str(d.type);
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const uncertain = frame.uncertain;
  const rows: RowFields[] = [];
  for (let index = 0; index < items.length; index++) {
    const value = num(items[index]);
    if (value === null) continue;
    const ms = first + index * interval * 1000;
    const offset = frame.offsetAt(ms);
    // One literal in column order: an export writes a million of these.
    rows.push({
      provider,
      user_id,
      day,
      timestamp: local.local(ms, offset),
      rmssd_ms: value,
      source_id: doc.id,
      timestamp_utc: utc.utc(ms),
      utc_offset_min: offset,
      source,
      retrieved_at,
      version,
      label,
      sleep_id: doc.id,
      sleep_type: type,
      time_uncertain: uncertain,
    });
  }
  return rows;
}

function readinessRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  const c = obj(d.contributors);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      score: num(d.score),
      temperature_deviation_c: num(d.temperature_deviation),
      temperature_trend_deviation_c: num(d.temperature_trend_deviation),
      activity_balance: num(c.activity_balance),
      body_temperature: num(c.body_temperature),
      hrv_balance: num(c.hrv_balance),
      previous_day_activity: num(c.previous_day_activity),
      previous_night: num(c.previous_night),
      recovery_index: num(c.recovery_index),
      resting_heart_rate: num(c.resting_heart_rate),
      sleep_balance: num(c.sleep_balance),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
    }),
  ];
}

function activityRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      score: num(d.score),
      steps: num(d.steps),
      active_calories_kcal: num(d.active_calories),
      total_calories_kcal: num(d.total_calories),
      // Oura measures no distance: it estimates an equivalent walking distance, kept apart.
      distance_m: null,
      high_activity_s: num(d.high_activity_time),
      medium_activity_s: num(d.medium_activity_time),
      low_activity_s: num(d.low_activity_time),
      sedentary_s: num(d.sedentary_time),
      resting_s: num(d.resting_time),
      non_wear_s: num(d.non_wear_time),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
      equivalent_walking_distance_m: num(d.equivalent_walking_distance),
    }),
  ];
}

export const OURA_ROW_SOURCES = {
  sleep: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: sleepRows }],
  hrv: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: hrvRows }],
  readiness: [{ kind: 'document', provider: 'oura', documentType: 'daily_readiness', toRows: readinessRows }],
  activity: [{ kind: 'document', provider: 'oura', documentType: 'daily_activity', toRows: activityRows }],
} satisfies Record<string, RowSource[]>;
