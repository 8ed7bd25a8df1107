import type { DB } from '../../src/store/db.js';
import { upsertDocument } from '../../src/store/documents.js';
import { ouraDocumentInput } from '../../src/providers/oura/documents.js';

/**
 * A small study in the store, deterministic: Oura nights with 5-minute stages (whose counts
 * match the stage durations), HRV, readiness and activity, day after day, with the gaps a real
 * study has. Everything goes through the store's own writers.
 */

export interface SeededAccount {
  label: string;
  userId: string;
  /** Days (YYYY-MM-DD) with a night of sleep, a readiness and an activity day. */
  sleepDays: string[];
  readinessDays: string[];
  activityDays: string[];
}

const STAGE_ORDER = '4222111222233322221112222333222243332222';

/** A night's phases: `epochs` 5-minute characters cycling through a plausible night. */
function phases(epochs: number, seed: number): string {
  let text = '44';
  for (let i = 2; i < epochs; i++) text += STAGE_ORDER[(i + seed) % STAGE_ORDER.length];
  return text;
}

function count(text: string, stage: string): number {
  return [...text].filter((c) => c === stage).length;
}

export function ouraNight(userId: string, day: string, seed: number, offset = '+01:00') {
  const epochs = 84 + (seed % 12); // 7 h to 8 h in bed
  const phase = phases(epochs, seed);
  const startHour = 22 + (seed % 2);
  const previous = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const start = `${previous}T${startHour}:${String((seed * 7) % 60).padStart(2, '0')}:00${offset}`;
  const startMs = Date.parse(start);
  const end = new Date(startMs + epochs * 300_000);
  const offsetMin = (offset.startsWith('-') ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const endLocal = new Date(end.getTime() + offsetMin * 60_000).toISOString().slice(0, 19) + offset;
  const secs = (stage: string) => count(phase, stage) * 300;
  return {
    id: `${userId}-sleep-${day}`,
    day,
    type: 'long_sleep',
    bedtime_start: start,
    bedtime_end: endLocal,
    time_in_bed: epochs * 300,
    total_sleep_duration: secs('1') + secs('2') + secs('3'),
    deep_sleep_duration: secs('1'),
    light_sleep_duration: secs('2'),
    rem_sleep_duration: secs('3'),
    awake_time: secs('4'),
    efficiency: 85 + (seed % 10),
    latency: 600,
    average_heart_rate: 55 + (seed % 5),
    lowest_heart_rate: 46 + (seed % 6),
    average_hrv: 38 + (seed % 15),
    average_breath: 14.5,
    sleep_phase_5_min: phase,
    hrv: { interval: 300, items: [40 + (seed % 9), null, 44, 47 - (seed % 4)], timestamp: start },
  };
}

export function seedOuraParticipant(db: DB, account: SeededAccount, seed: number): void {
  account.sleepDays.forEach((day, i) => upsertDocument(db, ouraDocumentInput('sleep', account.userId, ouraNight(account.userId, day, seed + i), 'sync')));
  account.readinessDays.forEach((day, i) =>
    upsertDocument(db, ouraDocumentInput('daily_readiness', account.userId, { id: `${account.userId}-readiness-${day}`, day, score: 60 + ((seed + i * 7) % 35), contributors: {} }, 'sync')),
  );
  account.activityDays.forEach((day, i) =>
    upsertDocument(
      db,
      ouraDocumentInput('daily_activity', account.userId, { id: `${account.userId}-activity-${day}`, day, score: 50 + ((seed + i * 11) % 45), steps: 4000 + i * 250, non_wear_time: 3600 }, 'sync'),
    ),
  );
}
