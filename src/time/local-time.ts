import { inferTransition, isKnownZone, zoneOffsetAt, zoneTransitionIn } from './zones.js';

/**
 * The offset in force at each instant of one document (a night of sleep, a day), so that
 * every local timestamp it yields carries the offset of its own instant: an HRV sample after
 * a DST change carries the new offset.
 *
 * - With the participant's IANA zone (issue "Running a study": `participants add --tz`), the
 *   zone's own rules decide, and nothing is uncertain.
 * - Without it, the provider's offsets decide: one offset (or equal ones) holds throughout;
 *   when the start and end offsets differ, the change is placed where most IANA zones that
 *   have both offsets place it, and `uncertain` says whether they all agree (CONTRACT,
 *   second edition). No offset at all: UTC is assumed, and that is uncertain too.
 */
export interface LocalFrame {
  /** Minutes east of UTC in force at `ms`. */
  offsetAt(ms: number): number;
  /** The offset at the start of the document (a span's `utc_offset_min`). */
  readonly startOffset: number;
  /** True when the document's local times are a best guess (CONTRACT: `time_uncertain`). */
  readonly uncertain: boolean;
}

export interface DocumentTimes {
  /** The instant the document starts and ends (null when it has none, e.g. a daily summary). */
  startMs: number | null;
  endMs: number | null;
  /** The offsets the provider wrote at its start and at its end (null when it wrote none). */
  startOffset: number | null;
  endOffset: number | null;
}

/** One offset throughout. */
export function fixedFrame(offset: number, uncertain = false): LocalFrame {
  return { offsetAt: () => offset, startOffset: offset, uncertain };
}

function switchingFrame(before: number, after: number, atMs: number, uncertain: boolean): LocalFrame {
  return { offsetAt: (ms) => (ms < atMs ? before : after), startOffset: before, uncertain };
}

/**
 * The frame of one document. `zone` is the participant's IANA zone when known (see
 * `zoneOf`); an unknown zone name is ignored rather than guessed at.
 */
export function localFrame(times: DocumentTimes, zone?: string | null): LocalFrame {
  const start = times.startMs ?? times.endMs;
  const end = times.endMs ?? times.startMs;
  if (zone && isKnownZone(zone) && start !== null && end !== null) {
    const before = zoneOffsetAt(zone, start);
    const at = end > start ? zoneTransitionIn(zone, start, end) : null;
    return at === null ? fixedFrame(before) : switchingFrame(before, zoneOffsetAt(zone, end), at, false);
  }
  const first = times.startOffset ?? times.endOffset;
  const last = times.endOffset ?? times.startOffset;
  if (first === null || last === null) return fixedFrame(0, true);
  if (first === last || times.startMs === null || times.endMs === null || times.endMs <= times.startMs) return fixedFrame(first);
  const transition = inferTransition(first, last, times.startMs, times.endMs);
  // No zone has both offsets (a provider's odd pair): keep the start offset, and say so.
  if (transition.atMs === null) return fixedFrame(first, true);
  return switchingFrame(first, last, transition.atMs, transition.uncertain);
}

const HOUR_MS = 3_600_000;

/**
 * Offsets of one zone for many unrelated instants (timeseries samples): looked up once per
 * hour, exactly only in an hour that holds a change.
 */
export function zoneClock(zone: string): (ms: number) => number {
  const byHour = new Map<number, number | null>();
  return (ms) => {
    const hour = Math.floor(ms / HOUR_MS);
    let offset = byHour.get(hour);
    if (offset === undefined) {
      const from = hour * HOUR_MS;
      const a = zoneOffsetAt(zone, from);
      offset = a === zoneOffsetAt(zone, from + HOUR_MS - 1) ? a : null;
      byHour.set(hour, offset);
    }
    return offset ?? zoneOffsetAt(zone, ms);
  };
}
