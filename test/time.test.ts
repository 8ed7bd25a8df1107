import { afterAll, describe, expect, it } from 'vitest';
import { InstantFormatter, instantOf, localDate, readTimestamp } from '../src/time/instant.js';
import { localFrame, zoneClock } from '../src/time/local-time.js';
import { inferTransition, zoneOffsetAt } from '../src/time/zones.js';
import { spanColumns, writtenSpan } from '../src/export/local-times.js';

/** Every assertion here must hold whatever zone the machine is in. */
const MACHINE_ZONES = ['UTC', 'Asia/Tokyo', 'America/New_York'];
const originalTz = process.env.TZ;
afterAll(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

const at = (iso: string) => Date.parse(iso);

for (const machineZone of MACHINE_ZONES) {
  describe(`local time on a machine in ${machineZone}`, () => {
    it('reads timestamps without the machine zone: a bare time keeps its wall clock, an offset is kept apart', () => {
      process.env.TZ = machineZone;
      expect(readTimestamp('2026-03-01T23:55:00')).toEqual({ wallMs: at('2026-03-01T23:55:00Z'), offsetMin: null });
      expect(readTimestamp('2026-03-01T23:55:00.250+01:00')).toEqual({ wallMs: at('2026-03-01T23:55:00.250Z'), offsetMin: 60 });
      expect(readTimestamp('2026-03-01 23:55:00-0530')).toEqual({ wallMs: at('2026-03-01T23:55:00Z'), offsetMin: -330 });
      expect(instantOf(readTimestamp('2026-03-01T23:55:00')!, 60)).toBe(at('2026-03-01T22:55:00Z'));
      for (const bad of ['2026-03-01', 'last night', '2026-02-30T10:00:00Z', '2026-03-01T25:00:00Z', 42]) expect(readTimestamp(bad)).toBeNull();
      expect(localDate(at('2026-03-02T03:00:00Z'), -300)).toBe('2026-03-01');
    });

    it('reads the usual form (read without the regular expression) and every other one alike', () => {
      process.env.TZ = machineZone;
      const read = (text: string) => {
        const w = readTimestamp(text);
        return w && { utc: new Date(w.wallMs).toISOString(), offsetMin: w.offsetMin };
      };
      expect(read('2026-03-01T23:55:07Z')).toEqual({ utc: '2026-03-01T23:55:07.000Z', offsetMin: 0 });
      expect(read('2026-03-01T23:55:07-00:30')).toEqual({ utc: '2026-03-01T23:55:07.000Z', offsetMin: -30 });
      expect(read('2026-03-01T23:55:07.5+14:00')).toEqual({ utc: '2026-03-01T23:55:07.500Z', offsetMin: 840 });
      expect(read('2026-03-01T23:55:07.123456789Z')).toEqual({ utc: '2026-03-01T23:55:07.123Z', offsetMin: 0 });
      expect(read('2024-02-29T00:00:00')).toEqual({ utc: '2024-02-29T00:00:00.000Z', offsetMin: null });
      // The other forms the regular expression reads: lower case, a comma, a space, no colon, hours only, blanks.
      expect(read('2026-03-01t23:55:07z')).toEqual({ utc: '2026-03-01T23:55:07.000Z', offsetMin: 0 });
      expect(read('2026-03-01T23:55:07,25+0100')).toEqual({ utc: '2026-03-01T23:55:07.250Z', offsetMin: 60 });
      expect(read('2026-03-01T23:55:07 +02')).toEqual({ utc: '2026-03-01T23:55:07.000Z', offsetMin: 120 });
      expect(read(' 2026-03-01T23:55:07Z ')).toEqual({ utc: '2026-03-01T23:55:07.000Z', offsetMin: 0 });
      expect(read('2026-03-01T23:55')).toEqual({ utc: '2026-03-01T23:55:00.000Z', offsetMin: null });
      for (const bad of ['2023-02-29T00:00:00Z', '2026-13-01T00:00:00Z', '2026-03-01T24:00:00Z', '2026-03-01T23:60:00Z', '2026-03-01T23:55:60Z',
        '2026-03-01T23:55:07.1234567890Z', '2026-03-01T23:55:07.Z', '2026-03-01T23:55:07+01:0', '2026-03-01T23:55:07+1:00', '2026-03-01T23:55:07X', '2026-0a-01T23:55:07Z']) {
        expect(readTimestamp(bad), bad).toBeNull();
      }
    });

    it('formats instants in a given offset and in UTC', () => {
      process.env.TZ = machineZone;
      const f = new InstantFormatter();
      expect(f.local(at('2026-10-25T00:55:00Z'), 120)).toBe('2026-10-25T02:55:00+02:00');
      expect(f.local(at('2026-10-25T01:00:00Z'), 60)).toBe('2026-10-25T02:00:00+01:00');
      expect(f.local(at('2026-03-08T12:00:00.250Z'), -330)).toBe('2026-03-08T06:30:00.250-05:30');
      expect(f.local(at('1969-12-31T23:59:30Z'), 0)).toBe('1969-12-31T23:59:30+00:00');
      expect(f.utc(at('2026-03-08T06:59:59.999Z'))).toBe('2026-03-08T06:59:59Z');
    });

    it('a span keeps a start or end written in the local form as it is, and writes every other form afresh', () => {
      process.env.TZ = machineZone;
      const times = { local: new InstantFormatter(), utc: new InstantFormatter() };
      const columns = (start: string, end: string, zone: string | null = null) => {
        const span = writtenSpan(start, end, zone);
        const t = spanColumns(times, span, localFrame(span, zone));
        return [t.start, t.end, t.startUtc, t.endUtc];
      };
      expect(columns('2026-03-01T23:10:00+01:00', '2026-03-02T07:40:00+01:00')).toEqual(['2026-03-01T23:10:00+01:00', '2026-03-02T07:40:00+01:00', '2026-03-01T22:10:00Z', '2026-03-02T06:40:00Z']);
      // Forms the export does not write: its own form instead.
      expect(columns('2026-03-01T23:10:00-00:00', '2026-03-02T07:40:00.000-00:00')).toEqual(['2026-03-01T23:10:00+00:00', '2026-03-02T07:40:00+00:00', '2026-03-01T23:10:00Z', '2026-03-02T07:40:00Z']);
      expect(columns('2026-03-01 23:10:00+01:00', '2026-03-02T07:40:00 +0100')).toEqual(['2026-03-01T23:10:00+01:00', '2026-03-02T07:40:00+01:00', '2026-03-01T22:10:00Z', '2026-03-02T06:40:00Z']);
      // Across a change of offset: the end at the offset in force then, whatever either was written at.
      expect(columns('2026-10-25T00:30:00+02:00', '2026-10-25T07:30:00+02:00', 'Europe/Amsterdam')).toEqual(['2026-10-25T00:30:00+02:00', '2026-10-25T06:30:00+01:00', '2026-10-24T22:30:00Z', '2026-10-25T05:30:00Z']);
      // In the participant's zone, not the offset written.
      expect(columns('2026-03-01T23:10:00+01:00', '2026-03-02T07:40:00+01:00', 'Asia/Tokyo')).toEqual(['2026-03-02T07:10:00+09:00', '2026-03-02T15:40:00+09:00', '2026-03-01T22:10:00Z', '2026-03-02T06:40:00Z']);
    });

    it('Amsterdam 2026-10-25: a night from +02:00 to +01:00 switches at 01:00Z, and every zone agrees', () => {
      process.env.TZ = machineZone;
      const frame = localFrame({ startMs: at('2026-10-24T21:00:00Z'), endMs: at('2026-10-25T06:00:00Z'), startOffset: 120, endOffset: 60 });
      expect(frame.uncertain).toBe(false);
      expect(frame.offsetAt(at('2026-10-25T00:59:59Z'))).toBe(120);
      expect(frame.offsetAt(at('2026-10-25T01:00:00Z'))).toBe(60);
    });

    it('New York 2026-03-08: -05:00 to -04:00 switches at 07:00Z, as most zones say; Havana (05:00Z) makes it uncertain', () => {
      process.env.TZ = machineZone;
      const start = at('2026-03-08T03:00:00Z');
      const end = at('2026-03-08T11:00:00Z');
      const inferred = inferTransition(-300, -240, start, end);
      expect(inferred.atMs).toBe(at('2026-03-08T07:00:00Z'));
      expect(inferred.zones).toEqual(expect.arrayContaining(['America/New_York', 'America/Havana', 'America/Toronto']));
      const frame = localFrame({ startMs: start, endMs: end, startOffset: -300, endOffset: -240 });
      expect(frame.uncertain).toBe(true);
      expect([frame.offsetAt(at('2026-03-08T06:55:00Z')), frame.offsetAt(at('2026-03-08T07:00:00Z'))]).toEqual([-300, -240]);
      // The participant's zone removes the doubt, and Havana's own rules hold for Havana.
      expect(localFrame({ startMs: start, endMs: end, startOffset: -300, endOffset: -240 }, 'America/New_York').uncertain).toBe(false);
      const havana = localFrame({ startMs: start, endMs: end, startOffset: null, endOffset: null }, 'America/Havana');
      expect([havana.offsetAt(at('2026-03-08T04:59:59Z')), havana.offsetAt(at('2026-03-08T05:00:00Z'))]).toEqual([-300, -240]);
    });

    it('one offset holds throughout; no offset at all is UTC and uncertain; odd pairs keep the start offset, uncertain', () => {
      process.env.TZ = machineZone;
      expect(localFrame({ startMs: 0, endMs: 1000, startOffset: -300, endOffset: null })).toMatchObject({ startOffset: -300, uncertain: false });
      expect(localFrame({ startMs: 0, endMs: 1000, startOffset: null, endOffset: null })).toMatchObject({ startOffset: 0, uncertain: true });
      const odd = localFrame({ startMs: at('2026-01-10T00:00:00Z'), endMs: at('2026-01-10T08:00:00Z'), startOffset: 60, endOffset: 420 });
      expect(odd).toMatchObject({ startOffset: 60, uncertain: true });
      expect(odd.offsetAt(at('2026-01-10T07:00:00Z'))).toBe(60);
    });

    it('a zone clock gives each sample the offset of its own instant', () => {
      process.env.TZ = machineZone;
      const ny = zoneClock('America/New_York');
      expect([ny(at('2026-03-08T06:59:59Z')), ny(at('2026-03-08T07:00:00Z')), ny(at('2026-07-01T12:00:00Z'))]).toEqual([-300, -240, -240]);
      expect(zoneOffsetAt('Asia/Kolkata', at('2026-01-01T00:00:00Z'))).toBe(330);
      expect(zoneOffsetAt('UTC', 0)).toBe(0);
    });
  });
}
