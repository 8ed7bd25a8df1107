import { InvalidArgumentError } from 'commander';
import { localDate } from '../time/display.js';

/** Commander argument parsers: a bad value becomes a usage error (exit 2) naming the flag. */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date in YYYY-MM-DD (2026-02-30 is refused). */
export function isValidDay(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/**
 * A day for `--from/--to` of the day-based commands (`export`, `sync`): read by `parseWhen`,
 * so a date, or the day a time or a duration back from now (`7d`) falls on.
 */
export function parseDay(value: string): string {
  return parseWhen(value).day;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${value}" is not a port number (0-65535).`);
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive whole number.`);
  return n;
}

/** Comma-separated list; empty items dropped. */
export function parseList(value: string, previous?: string[]): string[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('expects a comma-separated list.');
  return [...(previous ?? []), ...items];
}

/** `listOf(['a','b'])` as a commander parser that refuses anything else. */
export function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string, previous?: T[]): T[] => {
    const items = parseList(value);
    for (const item of items) {
      if (!allowed.includes(item as T)) {
        throw new InvalidArgumentError(`unknown ${what} "${item}"; choose from ${allowed.join(', ')}.`);
      }
    }
    return [...(previous ?? []), ...(items as T[])];
  };
}

const DURATION_RE = /^(\d+)\s*(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** `90s`, `15m`, `12h`, `7d`, `2w` to milliseconds. */
export function parseDuration(value: string): number {
  const m = DURATION_RE.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`"${value}" is not a duration such as 30m, 12h or 7d.`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/**
 * The one reader of dates and times on the command line (`export --from/--to`, `events
 * --since/--until`): a day `YYYY-MM-DD`, an ISO 8601 time (`2026-03-02T08:00`, seconds,
 * fractions and an offset or `Z` optional; a space may stand for the `T`), or a duration back
 * from now (`90s`, `15m`, `2h`, `3d`, `1w`). A day or a time without an offset is read in the
 * local zone, the zone every human-readable time is shown in. Anything else is a usage error.
 */
export type When =
  | { kind: 'day'; day: string }
  /** `day`: the date as written, or for a duration the local date it falls on. */
  | { kind: 'instant'; at: Date; day: string };

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function notAWhen(value: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `"${value}" is not a date in the form YYYY-MM-DD, an ISO 8601 time (2026-03-02T08:00, 2026-03-02T08:00:00Z) or a duration back from now (2h, 3d).`,
  );
}

export function parseWhen(value: string, now = Date.now()): When {
  const text = value.trim();
  if (DURATION_RE.test(text)) {
    const at = new Date(now - parseDuration(text));
    return { kind: 'instant', at, day: localDate(at) };
  }
  if (DATE_RE.test(text)) {
    if (!isValidDay(text)) throw new InvalidArgumentError(`"${value}" is not a real calendar date.`);
    return { kind: 'day', day: text };
  }
  const m = TIME_RE.exec(text);
  if (!m) throw notAWhen(value);
  const day = `${m[1]}-${m[2]}-${m[3]}`;
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (!isValidDay(day) || hour > 23 || minute > 59 || second > 59) throw new InvalidArgumentError(`"${value}" is not a real date and time.`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, Number(m[3])];
  if (m[8] === undefined) return { kind: 'instant', at: new Date(y, mo, d, hour, minute, second, ms), day };
  const offset = m[8].toUpperCase() === 'Z' ? 0 : offsetOf(m[8]);
  if (offset === undefined) throw notAWhen(value);
  return { kind: 'instant', at: new Date(Date.UTC(y, mo, d, hour, minute, second, ms) - offset * 60_000), day };
}

/** `+05:30`, `-0800` or `+09` in minutes east of UTC. */
function offsetOf(text: string): number | undefined {
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m || Number(m[2]) > 23 || Number(m[3] ?? 0) > 59) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}

/** The first instant a `When` covers: a day starts at local midnight. */
export function startOf(when: When): Date {
  if (when.kind === 'instant') return when.at;
  const [y, m, d] = when.day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d);
}

/** The last instant a `When` covers: a day ends just before the next local midnight. */
export function endOf(when: When): Date {
  if (when.kind === 'instant') return when.at;
  const [y, m, d] = when.day.split('-').map(Number) as [number, number, number];
  return new Date(new Date(y, m - 1, d + 1).getTime() - 1);
}

/** `--since`: from this time (a day from its start). */
export const parseSince = (value: string): Date => startOf(parseWhen(value));

/** `--until`: up to this time (a day to its end, inclusive). */
export const parseUntil = (value: string): Date => endOf(parseWhen(value));

export function parseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}" is not an http(s) URL.`);
  return value;
}

/**
 * A participant label: what every export and report shows, and what `--participant A,B`
 * lists, so no commas, spaces or control characters; at most 64 characters.
 */
export function parseLabel(value: string): string {
  if (!/^[^\s,\p{Cc}]{1,64}$/u.test(value)) {
    throw new InvalidArgumentError(`"${value}" is not a usable label: 1 to 64 characters without spaces or commas (e.g. P001).`);
  }
  return value;
}

/** An IANA time zone name such as Europe/Amsterdam, as Node's ICU knows them. */
export function parseTimeZone(value: string): string {
  if (!isTimeZone(value)) {
    throw new InvalidArgumentError(`"${value}" is not an IANA time zone name such as Europe/Amsterdam or America/New_York.`);
  }
  // Intl accepts any case; store the zone as the database spells it (europe/amsterdam -> Europe/Amsterdam).
  return Intl.supportedValuesOf('timeZone').find((zone) => zone.toLowerCase() === value.toLowerCase()) ?? value;
}

export function isTimeZone(value: string): boolean {
  // Offsets like "+01:00" are accepted by Intl but are not zones: they know no daylight saving time.
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
