/** The four export tables and their columns, in the order CONTRACT.md fixes. */

export const EXPORT_TYPES = ['sleep', 'hrv', 'readiness', 'activity'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const COLUMNS: Record<ExportType, readonly string[]> = {
  sleep: [
    'provider', 'user_id', 'day', 'bedtime_start', 'bedtime_end', 'type', 'total_sleep_s', 'time_in_bed_s',
    'deep_s', 'light_s', 'rem_s', 'awake_s', 'efficiency_pct', 'latency_s', 'avg_hr_bpm', 'lowest_hr_bpm',
    'avg_hrv_ms', 'avg_breath_rpm', 'source_id',
  ],
  hrv: ['provider', 'user_id', 'day', 'timestamp', 'rmssd_ms', 'source_id'],
  readiness: [
    'provider', 'user_id', 'day', 'score', 'temperature_deviation_c', 'temperature_trend_deviation_c',
    'activity_balance', 'body_temperature', 'hrv_balance', 'previous_day_activity', 'previous_night',
    'recovery_index', 'resting_heart_rate', 'sleep_balance', 'source_id',
  ],
  activity: [
    'provider', 'user_id', 'day', 'score', 'steps', 'active_calories_kcal', 'total_calories_kcal', 'distance_m',
    'high_activity_s', 'medium_activity_s', 'low_activity_s', 'sedentary_s', 'resting_s', 'non_wear_s', 'source_id',
  ],
};

/** Columns after the contract's: the `--label` given at `auth` time (null when none). */
export const EXTRA_COLUMNS = ['label'] as const;

export function columnsOf(type: ExportType): string[] {
  return [...COLUMNS[type], ...EXTRA_COLUMNS];
}

export type Value = string | number | boolean | null;
/** One export row: the table's columns other than provider, user_id and label, which the exporter fills. */
export type RowFields = Record<string, Value>;

/** Turns one stored document into zero or more rows of one table. */
export type DocumentToRows = (doc: { id: string; day: string | null; data: unknown }) => RowFields[];

/** Where a table's rows come from: documents of (provider, type), or samples of (provider, series). */
export type RowSource =
  | { kind: 'document'; provider: string; documentType: string; toRows: DocumentToRows }
  | { kind: 'sample'; provider: string; seriesType: string; valueColumn: string };

/** A number, or null for anything else (missing, null, a non-numeric string). */
export function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/** minutes x 60, null stays null. */
export function minutesToSeconds(value: unknown): number | null {
  const n = num(value);
  return n === null ? null : Math.round(n * 60);
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
}
