import type { ColumnDef, ColumnType, TableDef } from './registry/columns.js';
import { TABLES } from './registry/index.js';
import type { ExportFormat, ExportType } from './names.js';
import { describeDeidentification, type Deidentification } from './deidentify.js';
import { wearhookVersion } from '../util/version.js';

/**
 * The codebook of an export: a Frictionless Data Package (`datapackage.json`, version 2) with
 * one resource per table, each column's Table Schema field (type, unit, description, allowed
 * values, the provider fields behind it), the export's range, filters and wearhook's version.
 * It is made from the column registry, as the tables are.
 */

export const DATA_PACKAGE_PROFILE = 'https://datapackage.org/profiles/2.0/datapackage.json';
export const TABLE_SCHEMA_PROFILE = 'https://datapackage.org/profiles/2.0/tableschema.json';

export interface CodebookInput {
  types: readonly ExportType[];
  format: ExportFormat;
  from?: string;
  to?: string;
  user?: string;
  participants?: readonly string[];
  deidentification?: Deidentification;
  /** What was written, per table (absent for `--codebook` alone). */
  written?: Partial<Record<ExportType, { path: string; rows: number; bytes: number }>>;
  /** The columns each table was written with (free text dropped by --pseudonymize). */
  columns?: Partial<Record<ExportType, readonly ColumnDef[]>>;
  created?: Date;
}

const MEDIA_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
};

const TABLE_SCHEMA_TYPES: Record<ColumnType, string> = {
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  date: 'date',
  local_datetime: 'datetime',
  utc_datetime: 'datetime',
};

export function fieldOf(column: ColumnDef): Record<string, unknown> {
  const field: Record<string, unknown> = {
    name: column.name,
    type: TABLE_SCHEMA_TYPES[column.type],
    description: column.description,
  };
  if (column.type === 'boolean') {
    field.trueValues = ['true'];
    field.falseValues = ['false'];
  }
  if (column.unit) field.unit = column.unit;
  if (column.values) field.categories = [...column.values];
  field['wearhook:type'] = column.type;
  if (column.type === 'local_datetime') field['wearhook:utc'] = `${column.name}_utc`;
  if (column.sources) field['wearhook:providerFields'] = { ...column.sources };
  if (column.privacy) field['wearhook:privacy'] = column.privacy;
  return field;
}

function resourceOf(table: TableDef, input: CodebookInput, type: ExportType): Record<string, unknown> {
  const written = input.written?.[type];
  const columns = input.columns?.[type] ?? table.columns;
  const resource: Record<string, unknown> = {
    name: table.name,
    type: 'table',
    path: written?.path ?? `${table.name}.${input.format}`,
    title: table.title,
    description: table.description,
    format: input.format,
    mediatype: MEDIA_TYPES[input.format],
  };
  if (input.format !== 'parquet') resource.encoding = 'utf-8';
  if (written) resource.bytes = written.bytes;
  resource.schema = {
    $schema: TABLE_SCHEMA_PROFILE,
    fields: columns.map(fieldOf),
    missingValues: [''],
  };
  resource['wearhook:rowIs'] = table.rowIs;
  if (written) resource['wearhook:rows'] = written.rows;
  if (table.undated) resource['wearhook:undated'] = true;
  return resource;
}

export function buildCodebook(input: CodebookInput): Record<string, unknown> {
  const hidden = input.deidentification !== undefined;
  const shifted = hidden && input.deidentification!.shiftDates !== 'none';
  const export_: Record<string, unknown> = {
    version: wearhookVersion(),
    format: input.format,
    tables: [...input.types],
  };
  // A shifted export must not say which real days it covers, nor whose data it is.
  if (!shifted && input.from && input.to) export_.range = { from: input.from, to: input.to, on: "day (each provider's local day)" };
  const filters: Record<string, unknown> = {};
  if (input.user) filters.user = hidden ? 'one user (withheld)' : input.user;
  if (input.participants) filters.participants = hidden ? `${input.participants.length} participant(s) (withheld)` : [...input.participants];
  export_.filters = filters;
  if (input.deidentification) export_.deidentification = describeDeidentification(input.deidentification, input.types.map((t) => TABLES[t]));
  return {
    $schema: DATA_PACKAGE_PROFILE,
    name: 'wearhook-export',
    title: 'Wearable data exported by wearhook',
    description:
      "Tables exported by wearhook from the providers' documents and samples it stored. Local timestamps carry the offset in force at their instant; each has a UTC twin (<column>_utc). An empty field is a null.",
    created: (input.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    resources: input.types.map((type) => resourceOf(TABLES[type], input, type)),
    wearhook: export_,
  };
}

/** The codebook as text for a person: each table, then each column with its type, unit and meaning. */
export function renderCodebook(codebook: Record<string, unknown>): string {
  const lines: string[] = [];
  for (const resource of codebook.resources as Record<string, unknown>[]) {
    lines.push(`${resource.name as string}: ${resource.title as string}`);
    lines.push(`  ${resource.description as string}`);
    for (const field of (resource.schema as { fields: Record<string, unknown>[] }).fields) {
      const unit = field.unit ? ` [${field.unit as string}]` : '';
      const values = field.categories ? ` (${(field.categories as string[]).join(', ')})` : '';
      lines.push(`  ${field.name as string}  ${field['wearhook:type'] as string}${unit}  ${field.description as string}${values}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
