import { describe, expect, it } from 'vitest';
import { addSecondsKeepingOffset, stepsKeepingOffset } from '../src/util/iso.js';

// HRV export timestamps are `hrv.timestamp` + index x interval, written in the sleep's own offset.
describe('timestamps moved by seconds, offset kept', () => {
  it('crosses midnight in the local day of the offset, not of UTC', () => {
    expect(addSecondsKeepingOffset('2026-01-02T23:55:00+02:00', 600)).toBe('2026-01-03T00:05:00+02:00');
    expect(addSecondsKeepingOffset('2026-01-02T23:55:00-05:30', 600)).toBe('2026-01-03T00:05:00-05:30');
    expect(addSecondsKeepingOffset('2026-12-31T23:59:59Z', 1)).toBe('2027-01-01T00:00:00Z');
  });

  it('keeps milliseconds only when there are some, and handles instants before 1970', () => {
    expect(addSecondsKeepingOffset('2026-03-01T00:10:00.000+01:00', 300)).toBe('2026-03-01T00:15:00+01:00');
    expect(addSecondsKeepingOffset('2026-03-01T00:10:00.250+01:00', 300.5)).toBe('2026-03-01T00:15:00.750+01:00');
    expect(addSecondsKeepingOffset('1969-12-31T23:59:30-12:00', 45)).toBe('1970-01-01T00:00:15-12:00');
  });

  it('steps a whole series across several local days', () => {
    const start = '2026-03-28T22:00:00.5+14:00';
    const step = stepsKeepingOffset(start);
    // Independently: the UTC instant shifted by +14:00, printed with that offset.
    const expected = (seconds: number) => {
      const local = new Date(Date.parse(start) + seconds * 1000 + 14 * 3_600_000).toISOString();
      return `${local.slice(0, 23).replace(/\.000$/, '')}+14:00`;
    };
    for (let i = 0; i < 2_000; i++) expect(step(i * 301)).toBe(expected(i * 301));
    expect(step(3 * 86_400)).toBe('2026-03-31T22:00:00.500+14:00');
  });

  it('refuses a start that is not a timestamp', () => {
    expect(() => stepsKeepingOffset('last night')).toThrow(/not an ISO 8601 timestamp/);
  });
});
