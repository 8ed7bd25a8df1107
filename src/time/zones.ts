/**
 * IANA time zone rules, from the runtime's own tz data (`Intl`): the offset of a zone at an
 * instant, the instant a zone changes offset, and which zones are consistent with a pair of
 * offsets. Nothing here reads the machine's own zone.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether the runtime knows this IANA zone name (`Europe/Amsterdam`, `UTC`, ...). */
export function isKnownZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

const OFFSET_NAME_RE = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** Minutes east of UTC in force in `zone` at the instant `ms` (seconds of old local mean times are dropped). */
export function zoneOffsetAt(zone: string, ms: number): number {
  const name = formatter(zone)
    .formatToParts(ms)
    .find((p) => p.type === 'timeZoneName')?.value;
  const m = OFFSET_NAME_RE.exec(name ?? '');
  if (!m) throw new Error(`cannot read the offset of ${zone} (${name})`);
  if (!m[1]) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/**
 * The first instant (whole second) in (fromMs, toMs] at which `zone` no longer has the offset
 * it has at `fromMs`; null when it keeps it throughout. Assumes at most one change in the span
 * (a night, a day), which holds for every zone.
 */
export function zoneTransitionIn(zone: string, fromMs: number, toMs: number): number | null {
  const before = zoneOffsetAt(zone, fromMs);
  if (zoneOffsetAt(zone, toMs) === before) return null;
  let lo = Math.floor(fromMs / 1000); // seconds with the old offset
  let hi = Math.ceil(toMs / 1000); // seconds with the new one
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zoneOffsetAt(zone, mid * 1000) === before) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

let allZones: readonly string[] | undefined;

function everyZone(): readonly string[] {
  allZones ??= Intl.supportedValuesOf('timeZone');
  return allZones;
}

export interface InferredTransition {
  /** The instant the offset changes: the one most consistent zones agree on (earliest on a tie); null when no zone fits. */
  atMs: number | null;
  /** True unless every consistent zone changes at that same instant. */
  uncertain: boolean;
  /** The zones with `startOffset` at the start and `endOffset` at the end of the span. */
  zones: string[];
}

const inferred = new Map<string, InferredTransition>();

/**
 * A document's start and end carry different offsets, but not the participant's zone: the
 * change happened at the instant on which most zones with both offsets agree (New York
 * 2026-03-08: 07:00Z, although Havana changes at 05:00Z, so that night is uncertain).
 */
export function inferTransition(startOffset: number, endOffset: number, startMs: number, endMs: number): InferredTransition {
  const key = `${startOffset}|${endOffset}|${startMs}|${endMs}`;
  const cached = inferred.get(key);
  if (cached) return cached;
  const zones = everyZone().filter((zone) => zoneOffsetAt(zone, startMs) === startOffset && zoneOffsetAt(zone, endMs) === endOffset);
  const votes = new Map<number, number>();
  let known: number | null = null;
  for (const zone of zones) {
    // Most consistent zones share one rule: check the instant already found before searching again.
    const at: number | null =
      known !== null && zoneOffsetAt(zone, known - 1000) === startOffset && zoneOffsetAt(zone, known) === endOffset
        ? known
        : zoneTransitionIn(zone, startMs, endMs);
    if (at === null) continue;
    known = at;
    votes.set(at, (votes.get(at) ?? 0) + 1);
  }
  let atMs: number | null = null;
  let most = 0;
  for (const [at, count] of votes) {
    if (count > most || (count === most && atMs !== null && at < atMs)) {
      atMs = at;
      most = count;
    }
  }
  const result: InferredTransition = { atMs, uncertain: atMs === null || votes.size > 1, zones };
  inferred.set(key, result);
  return result;
}
