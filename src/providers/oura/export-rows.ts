import { stepsKeepingOffset } from '../../util/iso.js';
import { num, str, type RowFields, type RowSource } from '../../export/tables.js';

/** How Oura documents become export rows (CONTRACT.md, Export). */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/** Sleep periods that are real sleep: `deleted` and `rest` periods are left out of `sleep`. */
const EXCLUDED_SLEEP_TYPES = new Set(['deleted', 'rest']);

function sleepRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  if (EXCLUDED_SLEEP_TYPES.has(String(d.type))) return [];
  return [
    {
      day: str(d.day) ?? doc.day,
      bedtime_start: str(d.bedtime_start),
      bedtime_end: str(d.bedtime_end),
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
      avg_breath_rpm: num(d.average_breath),
      source_id: doc.id,
    },
  ];
}

/** One row per non-null 5-minute RMSSD item; timestamp = hrv.timestamp + index x interval. */
function hrvRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  if (d.type === 'deleted') return [];
  const hrv = obj(d.hrv);
  const items = Array.isArray(hrv.items) ? hrv.items : [];
  const start = str(hrv.timestamp);
  const interval = num(hrv.interval);
  if (!start || interval === null || Number.isNaN(Date.parse(start))) return [];
  const day = str(d.day) ?? doc.day;
  const at = stepsKeepingOffset(start);
  const rows: RowFields[] = [];
  items.forEach((item, index) => {
    const value = num(item);
    if (value === null) return;
    rows.push({ day, timestamp: at(index * interval), rmssd_ms: value, source_id: doc.id });
  });
  return rows;
}

function readinessRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  const c = obj(d.contributors);
  return [
    {
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
    },
  ];
}

function activityRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  return [
    {
      day: str(d.day) ?? doc.day,
      score: num(d.score),
      steps: num(d.steps),
      active_calories_kcal: num(d.active_calories),
      total_calories_kcal: num(d.total_calories),
      distance_m: num(d.equivalent_walking_distance),
      high_activity_s: num(d.high_activity_time),
      medium_activity_s: num(d.medium_activity_time),
      low_activity_s: num(d.low_activity_time),
      sedentary_s: num(d.sedentary_time),
      resting_s: num(d.resting_time),
      non_wear_s: num(d.non_wear_time),
      source_id: doc.id,
    },
  ];
}

export const OURA_ROW_SOURCES = {
  sleep: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: sleepRows }],
  hrv: [{ kind: 'document', provider: 'oura', documentType: 'sleep', toRows: hrvRows }],
  readiness: [{ kind: 'document', provider: 'oura', documentType: 'daily_readiness', toRows: readinessRows }],
  activity: [{ kind: 'document', provider: 'oura', documentType: 'daily_activity', toRows: activityRows }],
} satisfies Record<string, RowSource[]>;
