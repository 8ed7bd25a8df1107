import { instantOf, readTimestamp } from '../../time/instant.js';
import { localFrame, type LocalFrame } from '../../time/local-time.js';
import { writtenSpan } from '../../export/local-times.js';
import { num, obj, type ExportDocument, type Obj } from '../../export/tables.js';

/** What every Oura mapping shares: which sleeps count, a sleep's times, the items of a SampleModel. */

/**
 * Periods that are not sleep: `deleted` (removed by the user) and `rest` (falsely detected,
 * rejected by the user). Left out of `sleep` and of everything read from a sleep alike.
 */
export const EXCLUDED_SLEEP_TYPES = new Set(['deleted', 'rest']);

/** A sleep's bedtimes, and the offset in force at each instant of the night. */
export function sleepTimes(doc: ExportDocument, d: Obj) {
  const span = writtenSpan(d.bedtime_start, d.bedtime_end, doc.zone);
  return { span, frame: localFrame(span, doc.zone) };
}

/**
 * The non-null items of an Oura SampleModel (`{timestamp, interval, items}`): the instant of
 * item i is `timestamp` + i x `interval`. A bare timestamp is read in the offset at the start
 * of the document it belongs to (never the machine's zone).
 */
export function* sampleItems(sample: unknown, frame: LocalFrame): Generator<{ index: number; ms: number; offset: number; value: number; interval: number }> {
  const s = obj(sample);
  const items = Array.isArray(s.items) ? s.items : [];
  const written = readTimestamp(s.timestamp);
  const interval = num(s.interval);
  if (!written || interval === null || items.length === 0) return;
  const first = instantOf(written, written.offsetMin ?? frame.startOffset);
  for (let index = 0; index < items.length; index++) {
    const value = num(items[index]);
    if (value === null) continue;
    const ms = first + index * interval * 1000;
    yield { index, ms, offset: frame.offsetAt(ms), value, interval };
  }
}

