/**
 * Timestamps read and written without ever consulting the machine's own time zone.
 * `Date.parse` reads a timestamp without an offset in the machine's zone; this parser keeps
 * the wall-clock time and the offset apart, so that the caller decides what a bare local time
 * means (the offset of the document it belongs to, a participant's zone, ...).
 */

/** A timestamp as written: its wall-clock time (as if it were UTC) and its offset, when it has one. */
export interface WrittenTime {
  /** Milliseconds of the wall-clock time read as UTC: `2026-03-01T23:10:00+01:00` gives 2026-03-01T23:10Z. */
  wallMs: number;
  /** Minutes east of UTC, or null when the timestamp has no offset. */
  offsetMin: number | null;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** Reads an ISO 8601 date-time; null for anything else (a date alone, a non-date, impossible fields). */
export function readTimestamp(text: unknown): WrittenTime | null {
  if (typeof text !== 'string') return null;
  return readCanonical(text) ?? readAnyForm(text);
}

/** The digit at `i` as a number, or NaN for any other character. */
function digitAt(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}

/**
 * The form providers write (`2026-03-01T23:10:00`, then `.123`, then `Z` or `+01:00`), read
 * without the regular expression: exports read a million of them. Anything else (or an
 * impossible field) is left to `readAnyForm`, which decides; this one only answers what it
 * reads exactly as `readAnyForm` would.
 */
function readCanonical(text: string): WrittenTime | null | undefined {
  const n = text.length;
  if (n < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digitAt(text, 0) * 1000 + digitAt(text, 1) * 100 + digitAt(text, 2) * 10 + digitAt(text, 3);
  const month = digitAt(text, 5) * 10 + digitAt(text, 6);
  const day = digitAt(text, 8) * 10 + digitAt(text, 9);
  const hour = digitAt(text, 11) * 10 + digitAt(text, 12);
  const minute = digitAt(text, 14) * 10 + digitAt(text, 15);
  const second = digitAt(text, 17) * 10 + digitAt(text, 18);
  // NaN (a non-digit) fails every comparison: left to the regular expression.
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59 && year >= 0)) return undefined;
  let i = 19;
  let ms = 0;
  if (i < n && text.charCodeAt(i) === 46) {
    const from = ++i;
    while (i < n && i - from < 9 && digitAt(text, i) >= 0) i++;
    if (i === from) return undefined;
    ms = Math.floor(Number(`0.${text.slice(from, i)}`) * 1000 + 1e-6);
  }
  let offsetMin: number | null;
  if (i === n) offsetMin = null;
  else if (i === n - 1 && text.charCodeAt(i) === 90) offsetMin = 0;
  else if (i === n - 6 && (text.charCodeAt(i) === 43 || text.charCodeAt(i) === 45) && text.charCodeAt(i + 3) === 58) {
    const hh = digitAt(text, i + 1) * 10 + digitAt(text, i + 2);
    const mm = digitAt(text, i + 4) * 10 + digitAt(text, i + 5);
    if (!(hh >= 0 && mm >= 0)) return undefined;
    offsetMin = (text.charCodeAt(i) === 45 ? -1 : 1) * (hh * 60 + mm);
  } else return undefined;
  return { wallMs: Date.UTC(year, month - 1, day, hour, minute, second, ms), offsetMin };
}

function readAnyForm(text: string): WrittenTime | null {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const year = Number(y);
  if (day > daysInMonth(year, month)) return null; // 2026-02-30
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000 + 1e-6);
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return { wallMs, offsetMin: zone === undefined ? null : parseOffset(zone) };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

/** "+01:00", "-0530", "+02", "Z" -> minutes east of UTC. */
export function parseOffset(text: string): number {
  if (text === 'Z' || text === 'z') return 0;
  const sign = text.startsWith('-') ? -1 : 1;
  const digits = text.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
}

/** The instant of a written time; a time without an offset is read in `fallbackOffsetMin` (minutes east). */
export function instantOf(written: WrittenTime, fallbackOffsetMin: number): number {
  return written.wallMs - (written.offsetMin ?? fallbackOffsetMin) * 60_000;
}

/** The instant of an ISO 8601 date-time that carries an offset (or Z); null without one or when unreadable. */
export function instantWithOffset(text: unknown): number | null {
  const written = readTimestamp(text);
  return written && written.offsetMin !== null ? instantOf(written, 0) : null;
}

/** Minutes east of UTC as an ISO 8601 offset: 60 = "+01:00", 0 = "+00:00". */
export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${TWO_DIGITS[Math.floor(abs / 60)] ?? String(Math.floor(abs / 60))}:${TWO_DIGITS[abs % 60]}`;
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));

/** The local calendar date of an instant at an offset: the day a participant lived it. */
export function localDate(ms: number, offsetMin: number): string {
  return new Date(ms + offsetMin * 60_000).toISOString().slice(0, 10);
}

/**
 * A formatter of instants for exports, which write a million of them: the date part is
 * formatted once per day, the time of day from a table. `local(ms, offset)` gives
 * `2026-10-25T02:55:00+02:00` (milliseconds only when there are some); `utc(ms)` gives
 * `2026-10-25T00:55:00Z` (whole seconds, the CONTRACT's `_utc` form).
 */
export class InstantFormatter {
  // The last two days formatted: a series stays within one, a span's start and end alternate between two.
  private day = NaN;
  private datePart = '';
  private otherDay = NaN;
  private otherDatePart = '';
  private readonly offsets = new Map<number, string>();

  local(ms: number, offsetMin: number): string {
    const wall = Math.trunc(ms + offsetMin * 60_000);
    const frac = ((wall % 1000) + 1000) % 1000;
    let suffix = this.offsets.get(offsetMin);
    if (suffix === undefined) this.offsets.set(offsetMin, (suffix = formatOffset(offsetMin)));
    return this.wallClock(wall) + (frac ? `.${String(frac).padStart(3, '0')}` : '') + suffix;
  }

  utc(ms: number): string {
    return `${this.wallClock(Math.trunc(ms))}Z`;
  }

  private wallClock(wall: number): string {
    const start = Math.floor(wall / DAY_MS) * DAY_MS;
    if (start !== this.day) {
      const day = this.day;
      const datePart = this.datePart;
      if (start === this.otherDay) {
        this.day = start;
        this.datePart = this.otherDatePart;
      } else {
        this.day = start;
        this.datePart = new Date(start).toISOString().slice(0, 11);
      }
      this.otherDay = day;
      this.otherDatePart = datePart;
    }
    const ms = wall - start;
    return `${this.datePart}${TWO_DIGITS[Math.floor(ms / 3_600_000)]}:${TWO_DIGITS[Math.floor(ms / 60_000) % 60]}:${TWO_DIGITS[Math.floor(ms / 1000) % 60]}`;
  }
}
