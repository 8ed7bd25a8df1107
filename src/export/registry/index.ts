import { EXPORT_TYPES, type ExportType } from '../names.js';
import type { ColumnDef, TableDef } from './columns.js';
import { ACTIVITY, HRV, READINESS, SLEEP } from './core.js';
import { CARDIOVASCULAR_AGE, DAILY_SLEEP, RESILIENCE, SLEEP_TIME, SPO2, STRESS, VO2_MAX } from './daily.js';
import { REST_MODE_PERIODS, RING_CONFIGURATION, SESSIONS, TAGS, WORKOUTS } from './events.js';
import { ACTIVITY_CLASS, HEART_RATE, MET, SLEEP_MOVEMENT, SLEEP_STAGES, VITAL_SIGNS } from './series.js';

export * from './columns.js';
export { ACTIVITY, HRV, READINESS, SLEEP } from './core.js';
export { CARDIOVASCULAR_AGE, DAILY_SLEEP, RESILIENCE, SLEEP_TIME, SPO2, STRESS, VO2_MAX } from './daily.js';
export { REST_MODE_PERIODS, RING_CONFIGURATION, SESSIONS, TAGS, WORKOUTS } from './events.js';
export { ACTIVITY_CLASS, HEART_RATE, MET, SLEEP_MOVEMENT, SLEEP_STAGES, VITAL_SIGNS } from './series.js';

/** Every export table, by name: the one registry the writers and the codebook read. */
export const TABLES = {
  sleep: SLEEP,
  hrv: HRV,
  readiness: READINESS,
  activity: ACTIVITY,
  daily_sleep: DAILY_SLEEP,
  heart_rate: HEART_RATE,
  sleep_stages: SLEEP_STAGES,
  sleep_movement: SLEEP_MOVEMENT,
  met: MET,
  activity_class: ACTIVITY_CLASS,
  spo2: SPO2,
  stress: STRESS,
  resilience: RESILIENCE,
  cardiovascular_age: CARDIOVASCULAR_AGE,
  vo2_max: VO2_MAX,
  workouts: WORKOUTS,
  sessions: SESSIONS,
  tags: TAGS,
  sleep_time: SLEEP_TIME,
  rest_mode_periods: REST_MODE_PERIODS,
  ring_configuration: RING_CONFIGURATION,
  vital_signs: VITAL_SIGNS,
} satisfies Record<ExportType, TableDef>;

for (const type of EXPORT_TYPES) {
  if ((TABLES[type] as TableDef).name !== type) throw new Error(`export table ${type} is defined as ${TABLES[type].name}`);
}

export function tableOf(type: ExportType): TableDef {
  return TABLES[type];
}

export function columnDefsOf(type: ExportType): readonly ColumnDef[] {
  return TABLES[type].columns;
}
