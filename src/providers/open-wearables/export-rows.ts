import { localDay } from '../../util/iso.js';
import { minutesToSeconds, num, str, type RowFields, type RowSource } from '../../export/tables.js';

/** How Open Wearables documents and series become export rows (CONTRACT.md, Export). */

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/** The RMSSD series; SDNN is another measure and stays out of `hrv`. */
export const OPEN_WEARABLES_RMSSD_SERIES = 'heart_rate_variability_rmssd';

function sleepRows(doc: { id: string; day: string | null; data: unknown }): RowFields[] {
  const d = obj(doc.data);
  const stages = d.stages && typeof d.stages === 'object' ? obj(d.stages) : null;
  const deep = stages ? minutesToSeconds(stages.deep_minutes) : null;
  const light = stages ? minutesToSeconds(stages.light_minutes) : null;
  const rem = stages ? minutesToSeconds(stages.rem_minutes) : null;
  const asleep = deep !== null && light !== null && rem !== null ? deep + light + rem : null;
  const end = str(d.end_time);
  return [
    {
      day: doc.day ?? (end ? localDay(end) : null),
      bedtime_start: str(d.start_time),
      bedtime_end: end,
      type: d.is_nap === true ? 'nap' : d.is_nap === false ? 'sleep' : null,
      total_sleep_s: asleep,
      time_in_bed_s: num(d.duration_seconds),
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
    },
  ];
}

export const OPEN_WEARABLES_ROW_SOURCES = {
  sleep: [{ kind: 'document', provider: 'open-wearables', documentType: 'sleep', toRows: sleepRows }],
  hrv: [{ kind: 'sample', provider: 'open-wearables', seriesType: OPEN_WEARABLES_RMSSD_SERIES, valueColumn: 'rmssd_ms' }],
} satisfies Record<string, RowSource[]>;
