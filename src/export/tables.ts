import type { InstantFormatter } from '../time/instant.js';
import type { RowOf } from './registry/columns.js';
import { TABLES } from './registry/index.js';
import type { ExportType } from './names.js';

/**
 * What a provider's mapping works with: the stored document or sample it turns into rows,
 * and the rows it returns (typed by the column registry, `registry/`).
 */

export { DEFAULT_EXPORT_TYPES, EXPORT_FORMATS, EXPORT_TYPES, type ExportFormat, type ExportType } from './names.js';

/** Every column of a table, in order (the registry's). */
export function columnsOf(type: ExportType): readonly string[] {
  return TABLES[type].columns.map((c) => c.name);
}

export type Value = string | number | boolean | null;
/** One export row by column name; a column left out (undefined) is null. */
export type RowFields = Record<string, Value | undefined>;

/** The columns every row of a document or sample shares: who, how it was obtained, which version. */
export interface CommonFields {
  provider: string;
  user_id: string;
  source: string | null;
  retrieved_at: string | null;
  version: number | null;
  label: string | null;
}

/**
 * A row with the columns every row of its document shares. Not `{ ...common, ... }`: in Node 20
 * an object literal that spreads and then names twenty more properties costs about 0.3 ms.
 */
export function withCommon<R extends object>(common: CommonFields, fields: R): R & CommonFields {
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

/** One stored timeseries sample, with the sleep it was taken in (when any). */
export interface ExportSample {
  common: CommonFields;
  day: string;
  timestamp: string;
  value: number | null;
  sourceId: string | null;
  /** What the provider says the wearer was doing (Oura heart rate's `source`), when it says. */
  context: string | null;
  sleepId: string | null;
  /** The JSON of that sleep's current version. */
  sleepData: string | null;
  zone: string | null;
  times: ExportTimes;
}

/** A row of table T as a mapping returns it: only T's columns (the compiler refuses any other). */
export type Row<T extends ExportType> = RowOf<(typeof TABLES)[T]>;

/** Where a table's rows come from: documents of (provider, type), or samples of (provider, series). */
export type RowSource =
  | { kind: 'document'; provider: string; documentType: string; toRows: (doc: ExportDocument) => RowFields[] }
  | { kind: 'sample'; provider: string; seriesType: string; toRow: (sample: ExportSample) => RowFields };

/** A number, or null for anything else (missing, null, a non-numeric string). */
export function num(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return null;
}

/**
 * A whole number for an integer column. The providers' schemas say these are integers; a
 * fractional value (an upstream slip) is rounded rather than lost.
 */
export function int(value: unknown): number | null {
  const n = num(value);
  return n === null ? null : Math.round(n);
}

/** minutes x 60, null stays null. */
export function minutesToSeconds(value: unknown): number | null {
  const n = num(value);
  return n === null ? null : Math.round(n * 60);
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : value === undefined || value === null ? null : String(value);
}

export type Obj = Record<string, unknown>;
/** An object's fields, or none for anything that is not an object. */
export const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
