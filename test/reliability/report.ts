import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../helpers/cli.js';

/** Each reliability file records what it ran here; report-setup.ts gathers them at the end. */
export const RESULTS_DIR = path.join(ROOT, 'test', 'reliability', '.results');
export const REPORT_FILE = path.join(ROOT, 'test', 'reliability', 'report.json');

/** What the report adds up over all sections. */
export interface Totals {
  /** Deliveries sent to a receiver (each counted once, however often it was retried). */
  deliveries?: number;
  kills?: number;
  fuzz_cases?: number;
}

export function record(section: string, counts: Record<string, unknown>, totals: Totals = {}): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${section}.json`), `${JSON.stringify({ counts, totals }, null, 2)}\n`);
}

/** The seed of every random choice in a run: printed in the report, set RELIABILITY_SEED to replay a run. */
export const SEED = Number(process.env.RELIABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A small seeded PRNG (mulberry32): the same seed gives the same cases. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
