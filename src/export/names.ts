/**
 * The names of the export tables and formats, apart from their definitions (registry/) so
 * that the command line can describe them without loading the registry. The registry's
 * index checks that it defines exactly these tables.
 */

export const EXPORT_TYPES = [
  'sleep',
  'hrv',
  'readiness',
  'activity',
  'daily_sleep',
  'heart_rate',
  'sleep_stages',
  'sleep_movement',
  'met',
  'activity_class',
  'spo2',
  'stress',
  'resilience',
  'cardiovascular_age',
  'vo2_max',
  'workouts',
  'sessions',
  'tags',
  'sleep_time',
  'rest_mode_periods',
  'ring_configuration',
  'vital_signs',
] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** What `export` writes without `--type` (the first edition's four tables). */
export const DEFAULT_EXPORT_TYPES: readonly ExportType[] = ['sleep', 'hrv', 'readiness', 'activity'];

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
