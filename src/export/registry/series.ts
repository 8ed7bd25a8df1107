import { DAY, TIME_UNCERTAIN, WHO, defineTable, type ColumnSpec } from './columns.js';

/** Timeseries: one row per sample or epoch, each at its own instant and offset. */

const TIMESTAMP = 'Start of the sample or epoch, local time at the offset in force then.';

function sleepId(description = 'The id of the sleep the epoch belongs to (source_id of the sleep table).') {
  return { name: 'sleep_id', type: 'string', privacy: 'id', description, sources: { oura: 'sleep.id' } } as const satisfies ColumnSpec;
}

export const HEART_RATE = defineTable({
  name: 'heart_rate',
  title: 'Heart rate',
  description:
    "One row per heart-rate sample: Oura's heart rate (with the context it was measured in), the 5-minute averages of each Oura sleep and session, Vital's and Open Wearables' heart-rate series, and Corsano's bpm. Oura writes its heart rate in UTC: give the participant a zone (participants add --tz) for local times.",
  rowIs: 'provider, user_id, timestamp_utc, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'the local date of the sample; sleep.day for a sleep average', vital: 'the local date of the sample', 'open-wearables': 'the local date of the sample', corsano: 'the local date of the sample' } },
    { name: 'timestamp', type: 'local_datetime', description: TIMESTAMP, sources: { oura: 'heartrate.timestamp; sleep.heart_rate.timestamp + index x interval', vital: 'data[].timestamp + timezone_offset', 'open-wearables': 'samples[].timestamp', corsano: 'timestamp (unix ms) + timezone' } },
    { name: 'bpm', type: 'number', unit: 'bpm', description: 'Heart rate.', sources: { oura: 'heartrate.bpm; sleep.heart_rate.items[]; session.heart_rate.items[]', vital: 'data[].value', 'open-wearables': 'samples[].value', corsano: 'bpm' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the document that carried the sample (empty for Oura's heart-rate collection and Corsano).", sources: { oura: 'sleep.id or session.id', 'open-wearables': 'the batch id' } },
  ],
  additions: [
    {
      name: 'context',
      type: 'string',
      values: ['awake', 'rest', 'sleep', 'session', 'live', 'workout'],
      description: "What the wearer was doing, as Oura says (a sleep's and a session's averages: sleep, session); empty for other providers.",
      sources: { oura: 'heartrate.source' },
    },
    { name: 'interval_s', type: 'integer', unit: 's', description: "The span each value averages (Oura's sleep and session averages: 300); empty for single readings.", sources: { oura: 'sleep.heart_rate.interval, session.heart_rate.interval' } },
    sleepId('The id of the sleep a 5-minute average belongs to (source_id of the sleep table).'),
    TIME_UNCERTAIN,
  ],
});

export const SLEEP_STAGES = defineTable({
  name: 'sleep_stages',
  title: 'Sleep stages (hypnogram)',
  description: "One row per 5-minute epoch of a sleep: its stage, from Oura's sleep_phase_5_min ('1' deep, '2' light, '3' REM, '4' awake). Oura's rest and deleted periods are left out.",
  rowIs: 'provider, user_id, sleep_id, epoch',
  leading: [
    ...WHO,
    { ...DAY, description: 'The day of the sleep.', sources: { oura: 'sleep.day' } },
    { name: 'timestamp', type: 'local_datetime', description: 'Start of the 5-minute epoch, local time at the offset in force then.', sources: { oura: 'sleep.bedtime_start + epoch x 300 s' } },
    { name: 'stage', type: 'string', values: ['deep', 'light', 'rem', 'awake'], description: 'Sleep stage of the epoch.', sources: { oura: 'sleep.sleep_phase_5_min' } },
    sleepId(),
  ],
  additions: [
    { name: 'epoch', type: 'integer', description: 'Position of the epoch in the sleep, from 0.', sources: { oura: 'index in sleep.sleep_phase_5_min' } },
    { name: 'sleep_type', type: 'string', description: 'The type of that sleep.', sources: { oura: 'sleep.type' } },
    TIME_UNCERTAIN,
  ],
});

export const SLEEP_MOVEMENT = defineTable({
  name: 'sleep_movement',
  title: 'Movement during sleep',
  description: "One row per 30-second epoch of a sleep: Oura's movement class from movement_30_sec ('1' no motion, '2' restless, '3' tossing and turning, '4' active). Oura's rest and deleted periods are left out.",
  rowIs: 'provider, user_id, sleep_id, epoch',
  leading: [
    ...WHO,
    { ...DAY, description: 'The day of the sleep.', sources: { oura: 'sleep.day' } },
    { name: 'timestamp', type: 'local_datetime', description: 'Start of the 30-second epoch, local time at the offset in force then.', sources: { oura: 'sleep.bedtime_start + epoch x 30 s' } },
    { name: 'movement', type: 'string', values: ['no_motion', 'restless', 'tossing_and_turning', 'active'], description: 'Movement class of the epoch.', sources: { oura: 'sleep.movement_30_sec' } },
    sleepId(),
  ],
  additions: [
    { name: 'epoch', type: 'integer', description: 'Position of the epoch in the sleep, from 0.', sources: { oura: 'index in sleep.movement_30_sec' } },
    { name: 'sleep_type', type: 'string', description: 'The type of that sleep.', sources: { oura: 'sleep.type' } },
    TIME_UNCERTAIN,
  ],
});

const ACTIVITY_DAY = { ...DAY, description: 'The activity day (an Oura activity day starts at 4 a.m. local time).', sources: { oura: 'daily_activity.day' } } as const;
const ACTIVITY_ID = { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the daily activity document.", sources: { oura: 'daily_activity.id' } } as const satisfies ColumnSpec;

export const MET = defineTable({
  name: 'met',
  title: 'Metabolic equivalent per minute',
  description: "One row per sample of Oura's daily activity MET series (one a minute).",
  rowIs: 'provider, user_id, timestamp_utc',
  leading: [
    ...WHO,
    ACTIVITY_DAY,
    { name: 'timestamp', type: 'local_datetime', description: TIMESTAMP, sources: { oura: 'daily_activity.met.timestamp + index x interval' } },
    { name: 'met', type: 'number', unit: 'MET', description: 'Metabolic equivalent of task.', sources: { oura: 'daily_activity.met.items[]' } },
    ACTIVITY_ID,
  ],
  additions: [
    { name: 'interval_s', type: 'integer', unit: 's', description: 'The span of each sample.', sources: { oura: 'daily_activity.met.interval' } },
    TIME_UNCERTAIN,
  ],
});

export const ACTIVITY_CLASS = defineTable({
  name: 'activity_class',
  title: 'Activity class per 5 minutes',
  description: "One row per 5-minute epoch of an Oura activity day, from class_5_min ('0' non wear, '1' rest, '2' inactive, '3' low, '4' medium, '5' high), starting at the day's timestamp.",
  rowIs: 'provider, user_id, timestamp_utc',
  leading: [
    ...WHO,
    ACTIVITY_DAY,
    { name: 'timestamp', type: 'local_datetime', description: 'Start of the 5-minute epoch, local time at the offset in force then.', sources: { oura: 'daily_activity.timestamp + epoch x 300 s' } },
    { name: 'activity_class', type: 'string', values: ['non_wear', 'rest', 'inactive', 'low', 'medium', 'high'], description: 'Activity class of the epoch.', sources: { oura: 'daily_activity.class_5_min' } },
    ACTIVITY_ID,
  ],
  additions: [
    { name: 'epoch', type: 'integer', description: 'Position of the epoch in the day, from 0.', sources: { oura: 'index in daily_activity.class_5_min' } },
    TIME_UNCERTAIN,
  ],
});

export const VITAL_SIGNS = defineTable({
  name: 'vital_signs',
  title: 'Vital signs (Corsano)',
  description:
    "One row per reading of Corsano's bracelet: blood oxygen, respiration rate, blood pressure and temperatures, in long form (one measure a row). Corsano sends 0 for no reading of SpO2, respiration and blood pressure: those are left out.",
  rowIs: 'provider, user_id, timestamp_utc, measure',
  leading: [
    ...WHO,
    { ...DAY, sources: { corsano: 'the local date of the reading' } },
    { name: 'timestamp', type: 'local_datetime', description: 'Time of the reading, local time at the offset Corsano gave.', sources: { corsano: 'timestamp (unix ms) + timezone' } },
    {
      name: 'measure',
      type: 'string',
      values: ['spo2', 'respiration_rate', 'nibp_systolic', 'nibp_diastolic', 'temp_sk1', 'temp_sk2'],
      description:
        "What was measured, by Corsano's field name: spo2 (%), respiration_rate (per minute), nibp_systolic and nibp_diastolic (blood pressure, mmHg), temp_sk1 ('core body temperature') and temp_sk2 ('skin temperature during sleep'; Corsano gives no unit for temperatures).",
      sources: { corsano: 'spo2, respiration_rate, nibp_systolic, nibp_diastolic, temp_sk1, temp_sk2' },
    },
    { name: 'value', type: 'number', description: 'The reading, in the unit of the row.', sources: { corsano: 'the field named by measure' } },
    { name: 'unit', type: 'string', description: "The reading's unit (empty where Corsano gives none).", sources: { corsano: 'as documented by Corsano' } },
  ],
  additions: [TIME_UNCERTAIN],
});
