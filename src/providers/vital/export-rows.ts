import { localFrame } from '../../time/local-time.js';
import { zoneOffsetAt, isKnownZone } from '../../time/zones.js';
import { spanColumns } from '../../export/local-times.js';
import { minutesToSeconds, num, str, withCommon, type ExportDocument, type RowFields, type RowSource } from '../../export/tables.js';
import { vitalDay, vitalOffsetMinutes, vitalTimes } from './times.js';

/**
 * How Vital (Junction) summary documents become export rows (CONTRACT.md, Export). Vital
 * writes bedtimes in UTC and the participant's offset apart (`timezone_offset`): the export
 * writes them in that local offset.
 */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

function sleepRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  const span = vitalTimes(d);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  return [
    withCommon(doc.common, {
      day: vitalDay(d) ?? doc.day,
      bedtime_start: t.start ?? str(d.bedtime_start),
      bedtime_end: t.end ?? str(d.bedtime_stop),
      type: str(d.type),
      total_sleep_s: num(d.total),
      time_in_bed_s: num(d.duration),
      deep_s: num(d.deep),
      light_s: num(d.light),
      rem_s: num(d.rem),
      awake_s: num(d.awake),
      efficiency_pct: num(d.efficiency),
      latency_s: num(d.latency),
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
    }),
  ];
}

function activityRows(doc: ExportDocument): RowFields[] {
  const d = obj(doc.data);
  const day = str(d.calendar_date) ?? doc.day;
  // A daily summary's offset: the participant's zone at noon of its day when known, else Vital's.
  const offset = doc.zone && day && isKnownZone(doc.zone) ? zoneOffsetAt(doc.zone, Date.parse(`${day}T12:00:00Z`)) : vitalOffsetMinutes(d);
  return [
    withCommon(doc.common, {
      day,
      score: null,
      steps: num(d.steps),
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
    }),
  ];
}

export const VITAL_ROW_SOURCES = {
  sleep: [{ kind: 'document', provider: 'vital', documentType: 'sleep', toRows: sleepRows }],
  activity: [{ kind: 'document', provider: 'vital', documentType: 'activity', toRows: activityRows }],
} satisfies Record<string, RowSource[]>;
