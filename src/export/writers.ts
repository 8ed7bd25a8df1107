import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { ExportFormat, Value } from './tables.js';

/** Writes rows of one table in one format to a stream, respecting backpressure. */
export interface RowWriter {
  write(row: Record<string, Value>): Promise<void>;
  /** Finish the table (closing bracket, flush); does not end the underlying stream. */
  finish(): Promise<void>;
}

async function put(out: Writable, chunk: string): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** RFC 4180: CRLF records, a header row, quotes only where needed; null is an empty field. */
function csvWriter(out: Writable, columns: readonly string[]): RowWriter {
  const stringifier = stringify({
    header: true,
    columns: [...columns],
    record_delimiter: '\r\n',
    quoted_match: /[\r\n]/,
    cast: { boolean: (v) => (v ? 'true' : 'false') },
  });
  stringifier.pipe(out, { end: false });
  return {
    async write(row) {
      if (!stringifier.write(row)) await once(stringifier, 'drain');
    },
    async finish() {
      // An empty table still gets its header: csv-stringify writes it on end().
      const done = once(stringifier, 'end');
      stringifier.end();
      await done;
    },
  };
}

/** A JSON array of objects with the columns as keys, one object per line. */
function jsonWriter(out: Writable, columns: readonly string[]): RowWriter {
  let first = true;
  return {
    async write(row) {
      await put(out, `${first ? '[\n' : ',\n'}${JSON.stringify(row, columns as string[])}`);
      first = false;
    },
    async finish() {
      await put(out, first ? '[]\n' : '\n]\n');
    },
  };
}

function ndjsonWriter(out: Writable, columns: readonly string[]): RowWriter {
  return {
    async write(row) {
      await put(out, `${JSON.stringify(row, columns as string[])}\n`);
    },
    async finish() {},
  };
}

export function createRowWriter(format: ExportFormat, out: Writable, columns: readonly string[]): RowWriter {
  switch (format) {
    case 'csv':
      return csvWriter(out, columns);
    case 'json':
      return jsonWriter(out, columns);
    case 'ndjson':
      return ndjsonWriter(out, columns);
  }
}
