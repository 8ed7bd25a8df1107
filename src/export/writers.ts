import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ExportFormat, RowFields, Value } from './tables.js';
import type { ColumnDef } from './registry/columns.js';

/** Writes rows of one table in one format to a stream, respecting backpressure. */
export interface RowWriter {
  /** Returns a promise only when the stream must drain first: await it before the next row. */
  write(row: RowFields): Promise<void> | undefined;
  /** Finish the table (closing bracket, flush); does not end the underlying stream. */
  finish(): Promise<void>;
}

/** Output gathered into chunks of about this many characters: one stream write per chunk, not per row. */
const CHUNK_CHARS = 1 << 16;

/** Text handed to the stream in large chunks, waiting for it to drain when it asks to. */
class ChunkedOutput {
  // One growing string (V8 appends without copying, then flattens it once for the write).
  private text = '';

  constructor(private readonly out: Writable) {}

  add(text: string): Promise<void> | undefined {
    this.text += text;
    return this.text.length >= CHUNK_CHARS ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.text === '') return;
    const chunk = this.text;
    this.text = '';
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field: null is empty; quoted (quotes doubled) only when it holds a comma, a quote or a line break. */
function csvField(value: Value | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * RFC 4180: CRLF records, a header row (also for an empty table), quotes only where needed;
 * null is an empty field.
 */
function csvWriter(output: ChunkedOutput, columns: readonly string[]): RowWriter {
  output.add(`${columns.map(csvField).join(',')}\r\n`);
  const line = encodedRows(columns, csvField, columns.map((_, i) => (i === 0 ? '' : ',')), '\r\n');
  return {
    write: (row) => output.add(line(row)),
    finish: () => output.flush(),
  };
}

/**
 * The text of one row: `separators[i]` and the encoded value of column i, for each column in
 * order, then `end`. Compiled once per table so that each column is read as a named property
 * (`row["day"]`): a million rows of one shape then cost plain property loads. Many columns
 * repeat from row to row (a sleep's id, user and provenance on each of its HRV items): each
 * column's last value and its encoding are remembered.
 */
function encodedRows(columns: readonly string[], encode: (v: Value | undefined) => string, separators: readonly string[], end: string): (row: RowFields) => string {
  const parts = columns.map(
    (column, i) => `${JSON.stringify(separators[i])} + ((v = row[${JSON.stringify(column)}]) === l[${i}] && v !== undefined ? e[${i}] : (l[${i}] = v, e[${i}] = c(v)))`,
  );
  const body = `let v; return ${parts.join(' + ')} + ${JSON.stringify(end)};`;
  const compile = new Function('l', 'e', 'c', `return function (row) { ${body} };`) as (
    last: (Value | undefined)[],
    encoded: string[],
    encodeValue: typeof encode,
  ) => (row: RowFields) => string;
  return compile(columns.map(() => undefined), columns.map(() => ''), encode);
}

/**
 * One JSON object with the columns as keys, in order: the same text as
 * `JSON.stringify(row, columns)`, written directly (the replacer form is the slow path of JSON.stringify).
 */
function jsonObjectWriter(columns: readonly string[]): (row: RowFields) => string {
  const value = (v: Value | undefined): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return JSON.stringify(v);
  };
  return encodedRows(columns, value, columns.map((column, i) => `${i === 0 ? '{' : ','}${JSON.stringify(column)}:`), '}');
}

/** A JSON array of objects with the columns as keys, one object per line. */
function jsonWriter(output: ChunkedOutput, columns: readonly string[]): RowWriter {
  const object = jsonObjectWriter(columns);
  let first = true;
  return {
    write(row) {
      const text = `${first ? '[\n' : ',\n'}${object(row)}`;
      first = false;
      return output.add(text);
    },
    async finish() {
      output.add(first ? '[]\n' : '\n]\n');
      await output.flush();
    },
  };
}

function ndjsonWriter(output: ChunkedOutput, columns: readonly string[]): RowWriter {
  const object = jsonObjectWriter(columns);
  return {
    write: (row) => output.add(`${object(row)}\n`),
    finish: () => output.flush(),
  };
}

/** A writer of one table's rows in one format, its columns (and for Parquet their types) from the registry. */
export async function createRowWriter(format: ExportFormat, out: Writable, columns: readonly ColumnDef[]): Promise<RowWriter> {
  const names = columns.map((c) => c.name);
  const output = new ChunkedOutput(out);
  switch (format) {
    case 'csv':
      return csvWriter(output, names);
    case 'json':
      return jsonWriter(output, names);
    case 'ndjson':
      return ndjsonWriter(output, names);
    case 'parquet': {
      // Loaded only when asked for: the text formats never pay for it.
      const { parquetWriter } = await import('./parquet.js');
      return parquetWriter(out, columns);
    }
  }
}
