import { minutesToSeconds, num, str, type RowFields, type RowSource } from '../../export/tables.js';

/** How Vital (Junction) summary documents become export rows (CONTRACT.md, Export). */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

function sleepRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  return [
    {
      day: str(d.calendar_date) ?? doc.day,
      bedtime_start: str(d.bedtime_start),
      bedtime_end: str(d.bedtime_stop),
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
    },
  ];
}

function activityRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  return [
    {
      day: str(d.calendar_date) ?? doc.day,
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
    },
  ];
}

export const VITAL_ROW_SOURCES = {
  sleep: [{ kind: 'document', provider: 'vital', documentType: 'sleep', toRows: sleepRows }],
  activity: [{ kind: 'document', provider: 'vital', documentType: 'activity', toRows: activityRows }],
} satisfies Record<string, RowSource[]>;
