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
