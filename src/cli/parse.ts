import { InvalidArgumentError } from 'commander';

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

export function parseDay(value: string): string {
  if (!DATE_RE.test(value)) throw new InvalidArgumentError(`"${value}" is not a date in the form YYYY-MM-DD.`);
  if (!isValidDay(value)) throw new InvalidArgumentError(`"${value}" is not a real calendar date.`);
  return value;
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

/** An ISO 8601 instant, a day, or a duration back from now (`2h`). */
export function parseTime(value: string): Date {
  if (DURATION_RE.test(value.trim())) return new Date(Date.now() - parseDuration(value));
  if (DATE_RE.test(value)) {
    parseDay(value);
    return new Date(`${value}T00:00:00Z`);
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`"${value}" is not a time (ISO 8601, YYYY-MM-DD, or a duration like 2h).`);
  return new Date(t);
}

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
