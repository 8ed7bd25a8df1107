import type { InstantFormatter } from '../time/instant.js';

/** The four export tables and their columns, in the order CONTRACT.md fixes. */

export const EXPORT_TYPES = ['sleep', 'hrv', 'readiness', 'activity'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

export const EXPORT_FORMATS = ['csv', 'json', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The first edition's columns, in its order: every table starts with them (CONTRACT, Export). */
export const FIRST_EDITION_COLUMNS: Record<ExportType, readonly string[]> = {
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

/**
 * The second edition's columns after the first edition's, in its order: `<t>_utc` for each
 * local timestamp column, then these (CONTRACT, "Export, second edition").
 */
export const PROVENANCE_COLUMNS = ['utc_offset_min', 'source', 'retrieved_at', 'version', 'label'] as const;

/** Every column of each table, in order: first edition, `<t>_utc`, provenance, then the table's own additions. */
export const COLUMNS: Record<ExportType, readonly string[]> = {
  sleep: [
    ...FIRST_EDITION_COLUMNS.sleep, 'bedtime_start_utc', 'bedtime_end_utc', ...PROVENANCE_COLUMNS,
    'is_main_sleep', 'time_uncertain', 'sleep_algorithm_version', 'sleep_analysis_reason',
  ],
  hrv: [...FIRST_EDITION_COLUMNS.hrv, 'timestamp_utc', ...PROVENANCE_COLUMNS, 'sleep_id', 'sleep_type', 'time_uncertain'],
  readiness: [...FIRST_EDITION_COLUMNS.readiness, ...PROVENANCE_COLUMNS],
  activity: [...FIRST_EDITION_COLUMNS.activity, ...PROVENANCE_COLUMNS, 'equivalent_walking_distance_m'],
};

export function columnsOf(type: ExportType): readonly string[] {
  return COLUMNS[type];
}

export type Value = string | number | boolean | null;
/** One export row by column name; a column left out is null. */
export type RowFields = Record<string, Value>;

/** The columns every row of a document or sample shares: who, how it was obtained, which version. */
export interface CommonFields {
  provider: string;
  user_id: string;
  source: string | null;
  retrieved_at: string | null;
  version: number | null;
  label: string | null;
  [column: string]: Value;
}

/**
 * A row with the columns every row of its document shares. Not `{ ...common, ... }`: in Node 20
 * an object literal that spreads and then names twenty more properties costs about 0.3 ms.
 */
export function withCommon(common: CommonFields, fields: RowFields): RowFields {
  return Object.assign(fields, common);
}

/** What a provider's mapping gets for one stored document. Its rows carry `common` (see withCommon). */
export interface ExportDocument {
  id: string;
  day: string | null;
  data: unknown;
  common: CommonFields;
  /** The user's IANA zone when the study knows it (zoneOf); then every local time is in that zone. */
  zone: string | null;
  /** Formatters of local (`local`) and UTC (`utc`) timestamps, shared by a whole table. */
  times: ExportTimes;
}

export interface ExportTimes {
  local: InstantFormatter;
  utc: InstantFormatter;
}

/** Turns one stored document into zero or more rows of one table. */
export type DocumentToRows = (doc: ExportDocument) => RowFields[];

/** One stored timeseries sample, with the sleep it was taken in (when any). */
export interface ExportSample {
  common: CommonFields;
  day: string;
  timestamp: string;
  value: number | null;
  sourceId: string | null;
  sleepId: string | null;
  /** The JSON of that sleep's current version. */
  sleepData: string | null;
  zone: string | null;
  times: ExportTimes;
}

/** Where a table's rows come from: documents of (provider, type), or samples of (provider, series). */
export type RowSource =
  | { kind: 'document'; provider: string; documentType: string; toRows: DocumentToRows }
  | { kind: 'sample'; provider: string; seriesType: string; toRow: (sample: ExportSample) => RowFields };

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
