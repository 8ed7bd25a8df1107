import { localFrame } from '../../time/local-time.js';
import { zoneOffsetAt, isKnownZone } from '../../time/zones.js';
import { spanColumns } from '../../export/local-times.js';
import { heartRateSampleRow } from '../../export/sample-rows.js';
import { int, minutesToSeconds, num, obj, str, withCommon, type ExportDocument, type Row, type RowSource } from '../../export/tables.js';
import { vitalDay, vitalOffsetMinutes, vitalTimes } from './times.js';

/**
 * How Vital (Junction) summary documents become export rows (CONTRACT.md, Export). Vital
 * writes bedtimes in UTC and the participant's offset apart (`timezone_offset`): the export
 * writes them in that local offset.
 */

function sleepRows(doc: ExportDocument): Row<'sleep'>[] {
  const d = obj(doc.data);
  const span = vitalTimes(d);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  return [
    withCommon(doc.common, {
      day: vitalDay(d) ?? doc.day,
      bedtime_start: t.start ?? str(d.bedtime_start),
      bedtime_end: t.end ?? str(d.bedtime_stop),
      type: str(d.type),
      total_sleep_s: int(d.total),
      time_in_bed_s: int(d.duration),
      deep_s: int(d.deep),
      light_s: int(d.light),
      rem_s: int(d.rem),
      awake_s: int(d.awake),
      efficiency_pct: num(d.efficiency),
      latency_s: int(d.latency),
      avg_hr_bpm: num(d.hr_average),
      lowest_hr_bpm: num(d.hr_lowest),
      avg_hrv_ms: num(d.average_hrv),
      avg_breath_rpm: num(d.respiratory_rate),
      source_id: doc.id,
      bedtime_start_utc: t.startUtc,
      bedtime_end_utc: t.endUtc,
      utc_offset_min: t.offset,
      is_main_sleep: typeof d.type === 'string' ? d.type === 'long_sleep' : null,
      time_uncertain: t.uncertain,
    } satisfies Row<'sleep'>),
  ];
}

function activityRows(doc: ExportDocument): Row<'activity'>[] {
  const d = obj(doc.data);
  const day = str(d.calendar_date) ?? doc.day;
  // A daily summary's offset: the participant's zone at noon of its day when known, else Vital's.
  const offset = doc.zone && day && isKnownZone(doc.zone) ? zoneOffsetAt(doc.zone, Date.parse(`${day}T12:00:00Z`)) : vitalOffsetMinutes(d);
  return [
    withCommon(doc.common, {
      day,
      score: null,
      steps: int(d.steps),
      active_calories_kcal: num(d.calories_active),
      total_calories_kcal: num(d.calories_total),
      distance_m: num(d.distance),
      high_activity_s: minutesToSeconds(d.high),
      medium_activity_s: minutesToSeconds(d.medium),
      low_activity_s: minutesToSeconds(d.low),
      sedentary_s: null,
      resting_s: null,
      non_wear_s: null,
      source_id: doc.id,
      utc_offset_min: offset,
      equivalent_walking_distance_m: null,
    } satisfies Row<'activity'>),
  ];
}

/** A workout, in its local offset (`timezone_offset`), on the local day it ends. */
function workoutRows(doc: ExportDocument): Row<'workouts'>[] {
  const d = obj(doc.data);
  const span = vitalTimes(d);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  return [
    withCommon(doc.common, {
      day: vitalDay(d) ?? doc.day,
      start: t.start ?? str(d.time_start),
      end: t.end ?? str(d.time_end),
      activity: null,
      intensity: null,
      duration_s: span.startMs !== null && span.endMs !== null ? Math.round((span.endMs - span.startMs) / 1000) : null,
      calories_kcal: num(d.calories),
      distance_m: num(d.distance),
      avg_hr_bpm: num(d.average_hr),
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: t.endUtc,
      utc_offset_min: t.offset,
      workout_source: null,
      workout_label: null,
      time_uncertain: t.uncertain,
    } satisfies Row<'workouts'>),
  ];
}

/** Vital's resource names: `daily.data.<resource>.created` (PROVIDERS.md). */
export const VITAL_HEART_RATE_SERIES = 'heartrate';

export const VITAL_ROW_SOURCES: Record<string, RowSource[]> = {
  sleep: [{ kind: 'document', provider: 'vital', documentType: 'sleep', toRows: sleepRows }],
  activity: [{ kind: 'document', provider: 'vital', documentType: 'activity', toRows: activityRows }],
  workouts: [{ kind: 'document', provider: 'vital', documentType: 'workouts', toRows: workoutRows }],
  heart_rate: [{ kind: 'sample', provider: 'vital', seriesType: VITAL_HEART_RATE_SERIES, toRow: heartRateSampleRow }],
};
