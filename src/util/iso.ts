/** ISO 8601 helpers that keep the offset the provider gave (a researcher's "local day" depends on it). */
import { formatOffset } from '../time/instant.js';

export { formatOffset };

const OFFSET_RE = /(Z|[+-]\d{2}:?\d{2})$/i;

/** The offset suffix of an ISO timestamp in minutes east of UTC, or undefined when it has none. */
export function offsetMinutes(iso: string): number | undefined {
  const m = OFFSET_RE.exec(iso.trim());
  if (!m) return undefined;
  if (m[1]!.toUpperCase() === 'Z') return 0;
  const sign = m[1]!.startsWith('-') ? -1 : 1;
  const digits = m[1]!.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
}


/**
 * `iso` moved by `seconds`, written with the same offset as `iso`
 * ("2026-01-02T23:55:00+02:00" + 600 s = "2026-01-03T00:05:00+02:00").
 */
export function addSecondsKeepingOffset(iso: string, seconds: number): string {
  return stepsKeepingOffset(iso)(seconds);
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));

/**
 * `addSecondsKeepingOffset` for a whole series from one start (an Oura sleep's HRV items):
 * the start is parsed once, and each step only formats its time of day (the date part is
 * formatted once per day), since exports write a million of these.
 */
export function stepsKeepingOffset(iso: string): (seconds: number) => string {
  const epoch = Date.parse(iso);
  if (Number.isNaN(epoch)) throw new Error(`not an ISO 8601 timestamp: ${iso}`);
  const offset = offsetMinutes(iso);
  const suffix = offset === undefined ? '' : iso.trim().toUpperCase().endsWith('Z') ? 'Z' : formatOffset(offset);
  const localEpoch = epoch + (offset ?? 0) * 60_000;
  let day = NaN;
  let datePart = '';
  return (seconds) => {
    const local = Math.trunc(localEpoch + seconds * 1000); // as Date does
    const start = Math.floor(local / DAY_MS) * DAY_MS;
    if (start !== day) {
      day = start;
      datePart = new Date(start).toISOString().slice(0, 11);
    }
    const ms = local - start;
    const frac = ms % 1000;
    const time = `${TWO_DIGITS[Math.floor(ms / 3_600_000)]}:${TWO_DIGITS[Math.floor(ms / 60_000) % 60]}:${TWO_DIGITS[Math.floor(ms / 1000) % 60]}`;
    return datePart + time + (frac ? `.${String(frac).padStart(3, '0')}` : '') + suffix;
  };
}

/** The provider-local calendar day of an ISO timestamp: its own date part, offset respected. */
export function localDay(iso: string): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})/.exec(iso.trim());
  if (m) return m[1]!;
  const epoch = Date.parse(iso);
  return Number.isNaN(epoch) ? null : new Date(epoch).toISOString().slice(0, 10);
}

/**
 * An instant written in a given offset, for providers that send unix times and an offset
 * apart (Corsano's `timezone`): 1763562121000 at +60 = "2025-11-19T15:22:01.000+01:00".
 */
export function isoAtOffset(epochMs: number, offsetMinutesEast: number): string {
  const local = new Date(epochMs + offsetMinutesEast * 60_000);
  return local.toISOString().slice(0, 23) + formatOffset(offsetMinutesEast);
}
