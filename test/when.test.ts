import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { endOf, parseDay, parseWhen, startOf } from '../src/cli/parse.js';
import { fitWidths, formatRow } from '../src/cli/columns.js';
import { formatLocal } from '../src/time/display.js';

/** The one date parser of the command line, read in the local zone (Node applies a changed TZ at once). */
const zone = process.env.TZ;
afterEach(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

describe('parseWhen', () => {
  it('reads days and offset-less times in the local zone, in Tokyo and in New York across DST', () => {
    process.env.TZ = 'Asia/Tokyo';
    expect(startOf(parseWhen('2026-03-08')).toISOString()).toBe('2026-03-07T15:00:00.000Z');
    expect(endOf(parseWhen('2026-03-08')).toISOString()).toBe('2026-03-08T14:59:59.999Z');
    expect(startOf(parseWhen('2026-03-08T09:30')).toISOString()).toBe('2026-03-08T00:30:00.000Z');
    expect(formatLocal('2026-03-08T00:30:00Z')).toBe('2026-03-08 09:30:00+09:00');
    process.env.TZ = 'America/New_York';
    // 2026-03-08 is 23 hours long in New York.
    expect(startOf(parseWhen('2026-03-08')).toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(endOf(parseWhen('2026-03-08')).toISOString()).toBe('2026-03-09T03:59:59.999Z');
    expect(startOf(parseWhen('2026-03-08 12:00:00.5')).toISOString()).toBe('2026-03-08T16:00:00.500Z');
    expect(formatLocal('2026-03-08T16:00:00Z')).toBe('2026-03-08 12:00:00-04:00');
  });

  it('keeps an explicit offset or Z whatever the local zone', () => {
    process.env.TZ = 'Asia/Tokyo';
    expect(startOf(parseWhen('2026-03-02T08:00:00Z')).toISOString()).toBe('2026-03-02T08:00:00.000Z');
    expect(startOf(parseWhen('2026-03-02T08:00+05:30')).toISOString()).toBe('2026-03-02T02:30:00.000Z');
    expect(startOf(parseWhen('2026-03-02T08:00:00-0800')).toISOString()).toBe('2026-03-02T16:00:00.000Z');
    // export/sync take the date as written, not the local date of the instant.
    expect(parseDay('2026-03-02T23:00:00-05:00')).toBe('2026-03-02');
  });

  it('durations count back from now; their day is the local date then', () => {
    const now = Date.parse('2026-03-02T20:00:00Z');
    process.env.TZ = 'Asia/Tokyo';
    const when = parseWhen('3d', now);
    expect(when).toMatchObject({ kind: 'instant', day: '2026-02-28' });
    expect(startOf(when).toISOString()).toBe('2026-02-27T20:00:00.000Z');
    expect(startOf(parseWhen('90s', now)).toISOString()).toBe('2026-03-02T19:58:30.000Z');
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'now', 'yesterday', 'March 5, 2026', '2026-3-5', '2026-02-29', '2026-03-05T24:00', '2026-03-05T10:61', '2026-03-05T10:00+25:00', '1709280000', '2h ago']) {
      expect(() => parseWhen(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe('columns that fit', () => {
  const specs = [{ header: 'id' }, { header: 'event', flex: { min: 6 } }, { header: 'user', flex: { min: 4 } }, { header: 'error', flex: { min: 8 } }];
  it('gives flexible columns what is left, the most modest first, and leaves out the last that cannot fit', () => {
    const rows = [['#1', 'daily.data.sleep.created', 'u-1', 'a long error message here']];
    expect(fitWidths(specs, rows, 200)).toEqual([2, 24, 4, 25]);
    const narrow = fitWidths(specs, rows, 40);
    expect(narrow.reduce((a, b) => a + b, 0) + 2 * (narrow.filter((w) => w > 0).length - 1)).toBeLessThanOrEqual(40);
    expect(narrow[2]).toBe(4);
    expect(fitWidths(specs, rows, 24)).toEqual([2, 14, 4, 0]);
    expect(formatRow(specs, fitWidths(specs, rows, 24), rows[0]!)).toBe('#1  daily.data.sl…  u-1');
  });
});
