import { readTimestamp, instantOf } from '../../time/instant.js';
import { localFrame } from '../../time/local-time.js';

/**
 * The stages of one Oura night in time order. Oura's `sleep_phase_5_min` has one character per
 * 5 minutes from `bedtime_start`: '1' deep, '2' light, '3' REM, '4' awake (API 1.27, SleepModel).
 */

export const STAGE_NAMES = { 1: 'deep', 2: 'light', 3: 'rem', 4: 'awake' } as const;
export type Stage = keyof typeof STAGE_NAMES;

export interface HypnogramEpoch {
  /** Start of the 5 minutes, as an instant (ms). */
  ms: number;
  /** Minutes east of UTC in force then: the participant's zone when known, else Oura's offsets. */
  offsetMin: number;
  stage: Stage | null;
}

export const OURA_PHASE_SECONDS = 300;

type Obj = Record<string, unknown>;

/** Null when the document has no phases or no readable bedtime. */
export function ouraHypnogram(data: unknown, zone?: string | null): HypnogramEpoch[] | null {
  const d = (data && typeof data === 'object' ? data : {}) as Obj;
  const phases = typeof d.sleep_phase_5_min === 'string' ? d.sleep_phase_5_min : '';
  const start = readTimestamp(d.bedtime_start);
  const end = readTimestamp(d.bedtime_end);
  if (!phases || !start) return null;
  const startMs = instantOf(start, 0);
  const endMs = end ? instantOf(end, start.offsetMin ?? 0) : startMs + phases.length * OURA_PHASE_SECONDS * 1000;
  const frame = localFrame({ startMs, endMs, startOffset: start.offsetMin, endOffset: end?.offsetMin ?? start.offsetMin }, zone);
  return [...phases].map((c, i) => {
    const ms = startMs + i * OURA_PHASE_SECONDS * 1000;
    const stage = Number(c);
    return { ms, offsetMin: frame.offsetAt(ms), stage: stage >= 1 && stage <= 4 ? (stage as Stage) : null };
  });
}
