import { offsetOfWritten, spanColumns } from '../../export/local-times.js';
import { int, num, obj, str, withCommon, type ExportDocument, type Row, type RowSource } from '../../export/tables.js';
import { EXCLUDED_SLEEP_TYPES, sampleItems, sleepTimes } from './export-common.js';
import { OURA_DAILY_SOURCES } from './export-daily.js';
import { OURA_EVENT_SOURCES } from './export-events.js';
import { OURA_SERIES_SOURCES } from './export-series.js';

/** How Oura documents become export rows (CONTRACT.md, Export, first and second edition). */

function sleepRows(doc: ExportDocument): Row<'sleep'>[] {
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
      total_sleep_s: int(d.total_sleep_duration),
      time_in_bed_s: int(d.time_in_bed),
      deep_s: int(d.deep_sleep_duration),
      light_s: int(d.light_sleep_duration),
      rem_s: int(d.rem_sleep_duration),
      awake_s: int(d.awake_time),
      efficiency_pct: num(d.efficiency),
      latency_s: int(d.latency),
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
    } satisfies Row<'sleep'>),
  ];
}

/**
 * One row per non-null 5-minute RMSSD item, written in the offset in force at its instant
 * (a night across a DST change switches offset at the change).
 */
function hrvRows(doc: ExportDocument): Row<'hrv'>[] {
  const d = obj(doc.data);
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type))) return [];
  const { frame } = sleepTimes(doc, d);
  const day = str(d.day) ?? doc.day;
  const type = str(d.type);
  const { local, utc } = doc.times;
  const { provider, user_id, source, retrieved_at, version, label } = doc.common;
  const uncertain = frame.uncertain;
  const rows: Row<'hrv'>[] = [];
  for (const item of sampleItems(d.hrv, frame)) {
    // One literal in column order: an export writes a million of these.
    rows.push({
      provider,
      user_id,
      day,
      timestamp: local.local(item.ms, item.offset),
      rmssd_ms: item.value,
      source_id: doc.id,
      timestamp_utc: utc.utc(item.ms),
      utc_offset_min: item.offset,
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

function readinessRows(doc: ExportDocument): Row<'readiness'>[] {
  const d = obj(doc.data);
  const c = obj(d.contributors);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      score: int(d.score),
      temperature_deviation_c: num(d.temperature_deviation),
      temperature_trend_deviation_c: num(d.temperature_trend_deviation),
      activity_balance: int(c.activity_balance),
      body_temperature: int(c.body_temperature),
      hrv_balance: int(c.hrv_balance),
      previous_day_activity: int(c.previous_day_activity),
      previous_night: int(c.previous_night),
      recovery_index: int(c.recovery_index),
      resting_heart_rate: int(c.resting_heart_rate),
      sleep_balance: int(c.sleep_balance),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
    } satisfies Row<'readiness'>),
  ];
}

function activityRows(doc: ExportDocument): Row<'activity'>[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      score: int(d.score),
      steps: int(d.steps),
      active_calories_kcal: num(d.active_calories),
      total_calories_kcal: num(d.total_calories),
      // Oura measures no distance: it estimates an equivalent walking distance, kept apart.
      distance_m: null,
      high_activity_s: int(d.high_activity_time),
      medium_activity_s: int(d.medium_activity_time),
      low_activity_s: int(d.low_activity_time),
      sedentary_s: int(d.sedentary_time),
      resting_s: int(d.resting_time),
      non_wear_s: int(d.non_wear_time),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
      equivalent_walking_distance_m: num(d.equivalent_walking_distance),
    } satisfies Row<'activity'>),
  ];
}

export const OURA_ROW_SOURCES: Record<string, RowSource[]> = {
  sleep: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: sleepRows }],
  hrv: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: hrvRows }],
  readiness: [{ kind: 'document', provider: 'oura', documentType: 'daily_readiness', toRows: readinessRows }],
  activity: [{ kind: 'document', provider: 'oura', documentType: 'daily_activity', toRows: activityRows }],
  ...OURA_DAILY_SOURCES,
  ...OURA_SERIES_SOURCES,
  ...OURA_EVENT_SOURCES,
};
