import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { ExportFormat, Value } from './tables.js';

/** Writes rows of one table in one format to a stream, respecting backpressure. */
export interface RowWriter {
  /** Returns a promise only when the stream must drain first: await it before the next row. */
  write(row: Record<string, Value>): Promise<void> | undefined;
  /** Finish the table (closing bracket, flush); does not end the underlying stream. */
  finish(): Promise<void>;
}

/** Output gathered into chunks of about this many characters: one stream write per chunk, not per row. */
const CHUNK_CHARS = 1 << 16;

/** Text handed to the stream in large chunks, waiting for it to drain when it asks to. */
class ChunkedOutput {
  private parts: string[] = [];
  private size = 0;

  constructor(private readonly out: Writable) {}

  add(text: string): Promise<void> | undefined {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= CHUNK_CHARS ? this.flush() : undefined;
  }

  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.size = 0;
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

/** RFC 4180: CRLF records, a header row (also for an empty table), quotes only where needed; null is an empty field. */
function csvWriter(output: ChunkedOutput, columns: readonly string[]): RowWriter {
  output.add(`${columns.map(csvField).join(',')}\r\n`);
  return {
    write(row) {
      let line = csvField(row[columns[0]!]);
      for (let i = 1; i < columns.length; i++) line += `,${csvField(row[columns[i]!])}`;
      return output.add(`${line}\r\n`);
    },
    finish: () => output.flush(),
  };
}

/**
 * One JSON object with the columns as keys, in order: the same text as
 * `JSON.stringify(row, columns)`, written directly (the replacer form is the slow path of JSON.stringify).
 */
function jsonObjectWriter(columns: readonly string[]): (row: Record<string, Value>) => string {
  const keys = columns.map((column, i) => `${i === 0 ? '{' : ','}${JSON.stringify(column)}:`);
  const value = (v: Value | undefined): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    return JSON.stringify(v);
  };
  return (row) => {
    let text = '';
    for (let i = 0; i < columns.length; i++) text += keys[i]! + value(row[columns[i]!]);
    return `${text}}`;
  };
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

export function createRowWriter(format: ExportFormat, out: Writable, columns: readonly string[]): RowWriter {
  const output = new ChunkedOutput(out);
  switch (format) {
    case 'csv':
      return csvWriter(output, columns);
    case 'json':
      return jsonWriter(output, columns);
    case 'ndjson':
      return ndjsonWriter(output, columns);
  }
}
