import { instantOf, localDate, readTimestamp } from '../../time/instant.js';
import type { DocumentTimes } from '../../time/local-time.js';

/**
 * Vital (Junction) writes its times in UTC and the participant's offset apart, as
 * `timezone_offset` in seconds east of UTC (-18000 in New York in winter). Local times and
 * days are those of that offset; a time written without any offset is UTC, as Vital says.
 */

type Obj = Record<string, unknown>;

/** `timezone_offset` (seconds) in minutes, or null when the document has none. */
export function vitalOffsetMinutes(data: Obj): number | null {
  const seconds = data.timezone_offset;
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.round(seconds / 60) : null;
}

function instant(value: unknown): { ms: number; written: number | null } | null {
  const written = readTimestamp(value);
  return written ? { ms: instantOf(written, 0), written: written.offsetMin } : null;
}

/** A Vital summary's span (sleep: bedtime_start/bedtime_stop; others: time_start/time_end) in its local offset. */
export function vitalTimes(data: Obj): DocumentTimes {
  const start = instant(data.bedtime_start ?? data.time_start);
  const end = instant(data.bedtime_stop ?? data.time_end);
  const offset = vitalOffsetMinutes(data);
  return {
    startMs: start?.ms ?? null,
    endMs: end?.ms ?? null,
    startOffset: offset ?? start?.written ?? null,
    endOffset: offset ?? end?.written ?? null,
  };
}

/** The local day of a Vital summary: its `calendar_date`, else the local date its period ends (or starts) on. */
export function vitalDay(data: Obj): string | null {
  if (typeof data.calendar_date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(data.calendar_date)) return data.calendar_date;
  const times = vitalTimes(data);
  const ms = times.endMs ?? times.startMs;
  const offset = times.endOffset ?? times.startOffset;
  return ms === null ? null : localDate(ms, offset ?? 0);
}
