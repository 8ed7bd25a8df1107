import { instantOf, localDate, readTimestamp } from '../time/instant.js';
import { zoneClock, type DocumentTimes, type LocalFrame } from '../time/local-time.js';
import { zoneOffsetAt, isKnownZone } from '../time/zones.js';
import type { ExportTimes } from './tables.js';

/**
 * The time columns of export rows, shared by every provider's mapping: local timestamps at
 * the offset in force at their own instant, their UTC twins (`<t>_utc`), `utc_offset_min`
 * and `time_uncertain` (CONTRACT, second edition).
 */

/**
 * A document's span from two timestamps the provider wrote with their offsets (Oura's
 * bedtimes, Open Wearables' start and end). A time written without an offset is read in the
 * other one's offset, else in the participant's zone, else as UTC (and the frame says it is uncertain).
 */
export function writtenSpan(startText: unknown, endText: unknown, zone: string | null): DocumentTimes {
  const start = readTimestamp(startText);
  const end = readTimestamp(endText);
  const known = start?.offsetMin ?? end?.offsetMin ?? null;
  const instant = (w: ReturnType<typeof readTimestamp>): number | null => {
    if (!w) return null;
    if (w.offsetMin !== null) return instantOf(w, 0);
    if (known !== null) return instantOf(w, known);
    return instantOf(w, zone && isKnownZone(zone) ? zoneOffsetAt(zone, w.wallMs) : 0);
  };
  return { startMs: instant(start), endMs: instant(end), startOffset: start?.offsetMin ?? null, endOffset: end?.offsetMin ?? null };
}

/** The local and UTC forms of a span's start and end, and the span's offset (at its start) and certainty. */
export function spanColumns(times: ExportTimes, span: DocumentTimes, frame: LocalFrame) {
  const at = (ms: number | null): [string | null, string | null] =>
    ms === null ? [null, null] : [times.local.local(ms, frame.offsetAt(ms)), times.utc.utc(ms)];
  const [start, startUtc] = at(span.startMs);
  const [end, endUtc] = at(span.endMs);
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
    timestamp: sample.times.local.local(ms, offset ?? 0),
    timestamp_utc: sample.times.utc.utc(ms),
    utc_offset_min: offset ?? 0,
    time_uncertain: offset === null,
  };
}
