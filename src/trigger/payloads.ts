import { createHash, randomUUID } from 'node:crypto';
import { formatOffset, isoAtOffset } from '../util/iso.js';
import type { ProviderName } from '../providers/types.js';

/**
 * Realistic payloads for `wearhook trigger`, shaped as each provider sends them
 * (PROVIDERS.md) and dated to the night that just ended in the machine's time zone, so
 * that `listen` stores them and `export` shows them as if a ring or watch had synced.
 * Document ids are derived from user and day: triggering again updates, never duplicates.
 */

export interface TriggerContext {
  now: Date;
  /** Minutes east of UTC of the local times (`trigger` uses this machine's zone). */
  offsetMinutes: number;
  userId?: string;
}

export const TRIGGER_EVENTS: Record<ProviderName, readonly string[]> = {
  oura: ['sleep.create', 'daily_activity.create', 'daily_readiness.create', 'sleep.update', 'sleep.delete'],
  vital: ['daily.data.sleep.created', 'daily.data.activity.created'],
  'open-wearables': ['sleep.created', 'series.heart_rate_variability_rmssd.created'],
  standard: ['wearhook.test'],
  corsano: ['activity', 'temperature', 'test'],
};

const DEFAULT_USERS: Record<ProviderName, string> = {
  oura: 'wearhook-demo-oura-user',
  vital: stableUuid('vital-user'),
  'open-wearables': stableUuid('open-wearables-user'),
  standard: 'wearhook-demo-user',
  corsano: stableUuid('corsano-user'),
};

/** A UUID-shaped id that is the same for the same seed. */
function stableUuid(seed: string): string {
  const h = createHash('sha256').update(`wearhook-trigger:${seed}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** An instant to the second in the given offset: "2026-01-02T07:02:00+01:00". */
function isoSeconds(epochMs: number, offsetMinutes: number): string {
  return isoAtOffset(epochMs, offsetMinutes).replace(/\.\d{3}(?=[+-])/, '');
}

/** Local wall-clock times of the demo night: yesterday 23:14 to today 07:02 in `offsetMinutes`. */
function night(ctx: TriggerContext) {
  const today = isoAtOffset(ctx.now.getTime(), ctx.offsetMinutes).slice(0, 10);
  const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  const offset = formatOffset(ctx.offsetMinutes);
  const at = (day: string, time: string) => `${day}T${time}${offset}`;
  return { today, yesterday, offsetMinutes: ctx.offsetMinutes, at };
}

export function buildPayload(provider: ProviderName, event: string, ctx: TriggerContext): unknown {
  const userId = ctx.userId ?? DEFAULT_USERS[provider];
  const n = night(ctx);
  switch (provider) {
    case 'oura': {
      const dot = event.lastIndexOf('.');
      const dataType = event.slice(0, dot);
      const eventType = event.slice(dot + 1);
      return {
        event_type: eventType,
        data_type: dataType,
        object_id: stableUuid(`oura:${userId}:${dataType}:${n.today}`),
        event_time: isoSeconds(ctx.now.getTime(), 0),
        user_id: userId,
      };
    }
    case 'vital':
      return vitalPayload(event, userId, n, ctx);
    case 'open-wearables':
      return openWearablesPayload(event, userId, n);
    case 'standard':
      return { type: event, timestamp: ctx.now.toISOString(), data: { user_id: userId, message: 'hello from wearhook trigger' } };
    case 'corsano':
      return corsanoPayload(event, userId, ctx);
  }
}

const VITAL_SOURCE = { provider: 'oura', type: 'ring', app_id: null, name: 'Oura', slug: 'oura', logo: 'https://storage.googleapis.com/vital-assets/oura.png' };

function vitalPayload(event: string, userId: string, n: ReturnType<typeof night>, ctx: TriggerContext): unknown {
  const envelope = { event_type: event, user_id: userId, client_user_id: 'wearhook-demo', team_id: stableUuid('vital-team') };
  if (event === 'daily.data.activity.created') {
    return {
      ...envelope,
      data: {
        id: stableUuid(`vital:activity:${userId}:${n.yesterday}`),
        user_id: userId,
        calendar_date: n.yesterday,
        date: n.at(n.yesterday, '00:00:00'),
        timezone_offset: ctx.offsetMinutes * 60,
        steps: 9412,
        calories_total: 2410,
        calories_active: 522,
        distance: 7180,
        daily_movement: 7412,
        low: 182,
        medium: 54,
        high: 12,
        heart_rate: { avg_bpm: 71, min_bpm: 48, max_bpm: 154, resting_bpm: 52, avg_walking_bpm: 94 },
        source: VITAL_SOURCE,
      },
    };
  }
  // In bed 23:14-07:02 (28 080 s); asleep 25 560 s = light 13 320 + rem 6 120 + deep 6 120.
  return {
    ...envelope,
    data: {
      id: stableUuid(`vital:sleep:${userId}:${n.today}`),
      user_id: userId,
      calendar_date: n.today,
      // Vital writes bedtimes in UTC, the participant's offset apart (timezone_offset, seconds).
      bedtime_start: isoSeconds(Date.parse(n.at(n.yesterday, '23:14:00')), 0),
      bedtime_stop: isoSeconds(Date.parse(n.at(n.today, '07:02:00')), 0),
      type: 'long_sleep',
      timezone_offset: ctx.offsetMinutes * 60,
      duration: 28080,
      total: 25560,
      awake: 2520,
      light: 13320,
      rem: 6120,
      deep: 6120,
      score: 82,
      hr_lowest: 48,
      hr_average: 56,
      efficiency: 91,
      latency: 540,
      temperature_delta: -0.12,
      average_hrv: 61,
      respiratory_rate: 14.6,
      source: VITAL_SOURCE,
      sleep_stream: null,
    },
  };
}

function openWearablesPayload(event: string, userId: string, n: ReturnType<typeof night>): unknown {
  if (event === 'series.heart_rate_variability_rmssd.created') {
    // One RMSSD value every 5 minutes through the first hour of the night.
    const start = Date.parse(n.at(n.yesterday, '23:10:00'));
    const values = [41.5, 44.2, 47.8, 52.1, 55.6, 58.3, 61.0, 59.4, 62.7, 65.2, 63.8, 66.1];
    return {
      type: event,
      data: {
        user_id: userId,
        provider: 'garmin',
        series_type: 'heart_rate_variability_rmssd',
        samples: values.map((value, i) => ({
          timestamp: isoSeconds(start + i * 300_000, n.offsetMinutes),
          value,
          unit: 'ms',
        })),
        chunk_index: 0,
        total_chunks: 1,
      },
    };
  }
  // In bed 23:05-06:47 (462 min) = awake 32 + light 228 + deep 94 + rem 108.
  return {
    type: event,
    data: {
      id: stableUuid(`open-wearables:sleep:${userId}:${n.today}`),
      user_id: userId,
      start_time: n.at(n.yesterday, '23:05:00'),
      end_time: n.at(n.today, '06:47:00'),
      duration_seconds: 27720,
      efficiency_percent: 93,
      stages: { awake_minutes: 32, light_minutes: 228, deep_minutes: 94, rem_minutes: 108 },
      is_nap: false,
      source: { provider: 'garmin', device: 'Forerunner 965' },
    },
  };
}

function corsanoPayload(event: string, userId: string, ctx: TriggerContext): unknown {
  if (event === 'test') return { event_type: 'test' };
  const timezone = formatOffset(ctx.offsetMinutes);
  const end = Math.floor(ctx.now.getTime() / 60_000) * 60_000;
  const minutes = [4, 3, 2, 1, 0].map((m) => end - m * 60_000);
  const samples =
    event === 'temperature'
      ? minutes.map((t, i) => ({ timestamp: String(t), temp_sk1: (36.4 + i * 0.05).toFixed(2), temp_sk2: (33.1 + i * 0.04).toFixed(2), temp_amb: null, timezone }))
      : minutes.map((t, i) => ({
          timestamp: String(t),
          bpm: String([72, 74, 71, 69, 70][i]),
          bpm_q: '3',
          last_steps: String([12, 0, 35, 48, 6][i]),
          activity_type: '7',
          activity_count: '25',
          spo2: String([97, 0, 98, 97, 96][i]),
          spo2_q: i === 1 ? '0' : '3',
          energy_exp: '1196',
          respiration_rate: String([15, 16, 15, 14, 15][i]),
          resp_q: '1',
          pha: '10',
          pha_q: '10',
          wearing: '4',
          battery: '37',
          gait_asymmetry: '0',
          gait_speed: '0',
          gait_var: '0',
          cardiac_arrest: '0',
          nibp_systolic: i === 4 ? '122' : '0',
          nibp_diastolic: i === 4 ? '72' : '0',
          nibp_systolic_long_term: '0',
          nibp_diastolic_long_term: '0',
          nibp_systolic_combine: '0',
          nibp_diastolic_combine: '0',
          is_charging: '0',
          timezone,
        }));
  return { study: 'WEARHOOK-DEMO', type: event, data: { user_uuid: userId, data: [samples] } };
}

export function newMessageId(): string {
  return `msg_${randomUUID().replace(/-/g, '')}`;
}
