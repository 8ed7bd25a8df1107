import { instantOf, localDate, readTimestamp } from '../time/instant.js';
import { zoneClock, type DocumentTimes, type LocalFrame } from '../time/local-time.js';
import { zoneOffsetAt, isKnownZone } from '../time/zones.js';
import type { ExportTimes } from './tables.js';

/**
 * The time columns of export rows, shared by every provider's mapping: local timestamps at
 * the offset in force at their own instant, their UTC twins (`<t>_utc`), `utc_offset_min`
 * and `time_uncertain` (CONTRACT, second edition).
 */

/** A span read from the provider's text, with that text where it already is the export's local form. */
export interface WrittenSpan extends DocumentTimes {
  /** The start as written, when it is exactly `YYYY-MM-DDTHH:MM:SS±HH:MM` (what the export writes at that offset), else null. */
  startWritten: string | null;
  endWritten: string | null;
}

/**
 * A document's span from two timestamps the provider wrote with their offsets (Oura's
 * bedtimes, Open Wearables' start and end). A time written without an offset is read in the
 * other one's offset, else in the participant's zone, else as UTC (and the frame says it is uncertain).
 */
export function writtenSpan(startText: unknown, endText: unknown, zone: string | null): WrittenSpan {
  const start = readTimestamp(startText);
  const end = readTimestamp(endText);
  const known = start?.offsetMin ?? end?.offsetMin ?? null;
  const instant = (w: ReturnType<typeof readTimestamp>): number | null => {
    if (!w) return null;
    if (w.offsetMin !== null) return instantOf(w, 0);
    if (known !== null) return instantOf(w, known);
    return instantOf(w, zone && isKnownZone(zone) ? zoneOffsetAt(zone, w.wallMs) : 0);
  };
  return {
    startMs: instant(start),
    endMs: instant(end),
    startOffset: start?.offsetMin ?? null,
    endOffset: end?.offsetMin ?? null,
    startWritten: start && inLocalForm(startText as string, start.offsetMin) ? (startText as string) : null,
    endWritten: end && inLocalForm(endText as string, end.offsetMin) ? (endText as string) : null,
  };
}

/**
 * Whether a timestamp that was read (so its fields are valid) is written exactly as
 * InstantFormatter.local writes it at its own offset: `2026-03-01T23:10:00+01:00`, no
 * fraction, a T, the offset with its colon and the sign local() gives (`+00:00`, never `-00:00`).
 */
function inLocalForm(text: string, offsetMin: number | null): boolean {
  return (
    offsetMin !== null &&
    text.length === 25 &&
    text.charCodeAt(10) === 84 && // T
    text.charCodeAt(19) === (offsetMin < 0 ? 45 : 43) && // - or +
    text.charCodeAt(22) === 58 // :
  );
}

/**
 * The local and UTC forms of a span's start and end, and the span's offset (at its start) and
 * certainty. A start or end the provider already wrote in the local form at the offset in
 * force then is kept as written (the same text local() would make, without making it).
 */
export function spanColumns(times: ExportTimes, span: DocumentTimes & Partial<WrittenSpan>, frame: LocalFrame) {
  const at = (ms: number | null, written: string | null | undefined, writtenOffset: number | null): [string | null, string | null] => {
    if (ms === null) return [null, null];
    const offset = frame.offsetAt(ms);
    return [written && offset === writtenOffset ? written : times.local.local(ms, offset), times.utc.utc(ms)];
  };
  const [start, startUtc] = at(span.startMs, span.startWritten, span.startOffset);
  const [end, endUtc] = at(span.endMs, span.endWritten, span.endOffset);
  return {
    start,
    end,
    startUtc,
    endUtc,
    offset: span.startMs === null && span.endMs === null ? null : frame.startOffset,
    uncertain: span.startMs === null && span.endMs === null ? null : frame.uncertain,
  };
}

/**
 * The offset of a daily document's own timestamp (Oura's `timestamp` of a readiness or activity
 * day), or of the participant's zone at that instant; null when it has none.
 */
export function offsetOfWritten(text: unknown, zone: string | null): number | null {
  const written = readTimestamp(text);
  if (!written) return null;
  if (zone && isKnownZone(zone)) return zoneOffsetAt(zone, instantOf(written, written.offsetMin ?? 0));
  return written.offsetMin;
}

const zoneClocks = new Map<string, (ms: number) => number>();

/** The offset of a zone at an instant, looked up once per hour of the zone (timeseries ask for many). */
function zoneOffsetOf(zone: string, ms: number): number {
  let clock = zoneClocks.get(zone);
  if (!clock) zoneClocks.set(zone, (clock = zoneClock(zone)));
  return clock(ms);
}

/** The time columns of one stored sample, and its local day (the stored one unless the participant's zone moves it). */
export interface SampleTimes {
  day: string;
  timestamp: string;
  timestamp_utc: string | null;
  utc_offset_min: number | null;
  time_uncertain: boolean;
}

/**
 * One timeseries sample: its own offset as written, or the participant's zone at its instant
 * when known (then its day is the local date there). A timestamp without an offset is UTC, and uncertain.
 */
export function sampleTimes(sample: { timestamp: string; day: string; zone: string | null; times: ExportTimes }): SampleTimes {
  const written = readTimestamp(sample.timestamp);
  if (!written) return { day: sample.day, timestamp: sample.timestamp, timestamp_utc: null, utc_offset_min: null, time_uncertain: true };
  const ms = instantOf(written, written.offsetMin ?? 0);
  let offset = written.offsetMin;
  let day = sample.day;
  if (sample.zone && isKnownZone(sample.zone)) {
    offset = zoneOffsetOf(sample.zone, ms);
    day = localDate(ms, offset);
  }
  return {
    day,
    // Most samples are stored as their provider wrote them, in the export's form at their own offset.
    timestamp: offset === written.offsetMin && inLocalForm(sample.timestamp, offset) ? sample.timestamp : sample.times.local.local(ms, offset ?? 0),
    timestamp_utc: sample.times.utc.utc(ms),
    utc_offset_min: offset ?? 0,
    time_uncertain: offset === null,
  };
}
