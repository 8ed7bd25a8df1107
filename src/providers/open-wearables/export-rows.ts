import { localFrame } from '../../time/local-time.js';
import { spanColumns, writtenSpan } from '../../export/local-times.js';
import { heartRateSampleRow, sampleColumns } from '../../export/sample-rows.js';
import { minutesToSeconds, int, num, obj, str, withCommon, type ExportDocument, type ExportSample, type Obj, type Row, type RowSource } from '../../export/tables.js';

/** How Open Wearables documents and series become export rows (CONTRACT.md, Export). */

/** The RMSSD series; SDNN is another measure and stays out of `hrv`. */
export const OPEN_WEARABLES_RMSSD_SERIES = 'heart_rate_variability_rmssd';
export const OPEN_WEARABLES_HEART_RATE_SERIES = 'heart_rate';

/** `nap` or `sleep` from `is_nap` (null when it is not said): the sleep table's `type`. */
function sleepType(d: Obj): string | null {
  return d.is_nap === true ? 'nap' : d.is_nap === false ? 'sleep' : null;
}

function sleepRows(doc: ExportDocument): Row<'sleep'>[] {
  const d = obj(doc.data);
  const stages = d.stages && typeof d.stages === 'object' ? obj(d.stages) : null;
  const deep = stages ? minutesToSeconds(stages.deep_minutes) : null;
  const light = stages ? minutesToSeconds(stages.light_minutes) : null;
  const rem = stages ? minutesToSeconds(stages.rem_minutes) : null;
  const asleep = deep !== null && light !== null && rem !== null ? deep + light + rem : null;
  const span = writtenSpan(d.start_time, d.end_time, doc.zone);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  return [
    withCommon(doc.common, {
      day: doc.day ?? (typeof d.end_time === 'string' ? d.end_time.slice(0, 10) : null),
      bedtime_start: t.start ?? str(d.start_time),
      bedtime_end: t.end ?? str(d.end_time),
      type: sleepType(d),
      total_sleep_s: asleep,
      time_in_bed_s: int(d.duration_seconds),
      deep_s: deep,
      light_s: light,
      rem_s: rem,
      awake_s: stages ? minutesToSeconds(stages.awake_minutes) : null,
      efficiency_pct: num(d.efficiency_percent),
      latency_s: null,
      avg_hr_bpm: null,
      lowest_hr_bpm: null,
      avg_hrv_ms: null,
      avg_breath_rpm: null,
      source_id: doc.id,
      bedtime_start_utc: t.startUtc,
      bedtime_end_utc: t.endUtc,
      utc_offset_min: t.offset,
      is_main_sleep: typeof d.is_nap === 'boolean' ? !d.is_nap : null,
      time_uncertain: t.uncertain,
    } satisfies Row<'sleep'>),
  ];
}

let lastSleep: { data: string | null; type: string | null } = { data: null, type: null };

/** One RMSSD sample: its own offset as written (in the participant's zone when known), the sleep it was taken in. */
function hrvRow(sample: ExportSample): Row<'hrv'> {
  if (sample.sleepData !== lastSleep.data) {
    lastSleep = { data: sample.sleepData, type: sample.sleepData === null ? null : sleepType(obj(JSON.parse(sample.sleepData))) };
  }
  return Object.assign(sampleColumns(sample), {
    // An RMSSD sample belongs to the day of its sleep (stored), not to its own date.
    day: sample.day,
    rmssd_ms: sample.value,
    source_id: sample.sourceId,
    sleep_id: sample.sleepId,
    sleep_type: lastSleep.type,
  } satisfies Row<'hrv'>);
}

function workoutRows(doc: ExportDocument): Row<'workouts'>[] {
  const d = obj(doc.data);
  const span = writtenSpan(d.start_time, d.end_time, doc.zone);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  return [
    withCommon(doc.common, {
      day: doc.day,
      start: t.start ?? str(d.start_time),
      end: t.end ?? str(d.end_time),
      activity: null,
      intensity: null,
      duration_s: int(d.duration_s),
      calories_kcal: null,
      distance_m: null,
      avg_hr_bpm: num(d.avg_hr),
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

export const OPEN_WEARABLES_ROW_SOURCES: Record<string, RowSource[]> = {
  sleep: [{ kind: 'document', provider: 'open-wearables', documentType: 'sleep', toRows: sleepRows }],
  hrv: [{ kind: 'sample', provider: 'open-wearables', seriesType: OPEN_WEARABLES_RMSSD_SERIES, toRow: hrvRow }],
  workouts: [{ kind: 'document', provider: 'open-wearables', documentType: 'workout', toRows: workoutRows }],
  heart_rate: [{ kind: 'sample', provider: 'open-wearables', seriesType: OPEN_WEARABLES_HEART_RATE_SERIES, toRow: heartRateSampleRow }],
};
