import { DAY, TIME_UNCERTAIN, WHO, defineTable } from './columns.js';

/** The first edition's four tables: their leading columns in CONTRACT order, then the second edition's. */

export const SLEEP = defineTable({
  name: 'sleep',
  title: 'Sleep periods',
  description: "One row per sleep period (a night's main sleep or a nap); Oura's deleted and rest periods are left out.",
  rowIs: 'provider, user_id, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'sleep.day', vital: 'sleep.calendar_date', 'open-wearables': 'sleep.end_time (local date)' } },
    { name: 'bedtime_start', type: 'local_datetime', description: 'Start of the period, local time.', sources: { oura: 'sleep.bedtime_start', vital: 'sleep.bedtime_start + timezone_offset', 'open-wearables': 'sleep.start_time' } },
    { name: 'bedtime_end', type: 'local_datetime', description: 'End of the period, local time.', sources: { oura: 'sleep.bedtime_end', vital: 'sleep.bedtime_stop + timezone_offset', 'open-wearables': 'sleep.end_time' } },
    {
      name: 'type',
      type: 'string',
      description: "The provider's kind of period: Oura sleep, long_sleep (the main sleep) or late_nap; Vital's type as it sends it; Open Wearables sleep or nap.",
      sources: { oura: 'sleep.type', vital: 'sleep.type', 'open-wearables': 'sleep.is_nap' },
    },
    { name: 'total_sleep_s', type: 'integer', unit: 's', description: 'Time asleep.', sources: { oura: 'sleep.total_sleep_duration', vital: 'sleep.total', 'open-wearables': 'stages.deep_minutes + light_minutes + rem_minutes, x 60' } },
    { name: 'time_in_bed_s', type: 'integer', unit: 's', description: 'Time in bed.', sources: { oura: 'sleep.time_in_bed', vital: 'sleep.duration', 'open-wearables': 'sleep.duration_seconds' } },
    { name: 'deep_s', type: 'integer', unit: 's', description: 'Time in deep sleep.', sources: { oura: 'sleep.deep_sleep_duration', vital: 'sleep.deep', 'open-wearables': 'stages.deep_minutes x 60' } },
    { name: 'light_s', type: 'integer', unit: 's', description: 'Time in light sleep.', sources: { oura: 'sleep.light_sleep_duration', vital: 'sleep.light', 'open-wearables': 'stages.light_minutes x 60' } },
    { name: 'rem_s', type: 'integer', unit: 's', description: 'Time in REM sleep.', sources: { oura: 'sleep.rem_sleep_duration', vital: 'sleep.rem', 'open-wearables': 'stages.rem_minutes x 60' } },
    { name: 'awake_s', type: 'integer', unit: 's', description: 'Time awake during the period.', sources: { oura: 'sleep.awake_time', vital: 'sleep.awake', 'open-wearables': 'stages.awake_minutes x 60' } },
    { name: 'efficiency_pct', type: 'number', unit: '%', description: 'Sleep efficiency, 1-100.', sources: { oura: 'sleep.efficiency', vital: 'sleep.efficiency', 'open-wearables': 'sleep.efficiency_percent' } },
    { name: 'latency_s', type: 'integer', unit: 's', description: 'Time to fall asleep.', sources: { oura: 'sleep.latency', vital: 'sleep.latency' } },
    { name: 'avg_hr_bpm', type: 'number', unit: 'bpm', description: 'Average heart rate during the period.', sources: { oura: 'sleep.average_heart_rate', vital: 'sleep.hr_average' } },
    { name: 'lowest_hr_bpm', type: 'number', unit: 'bpm', description: 'Lowest heart rate during the period.', sources: { oura: 'sleep.lowest_heart_rate', vital: 'sleep.hr_lowest' } },
    { name: 'avg_hrv_ms', type: 'number', unit: 'ms', description: 'Average heart rate variability (RMSSD).', sources: { oura: 'sleep.average_hrv', vital: 'sleep.average_hrv' } },
    {
      name: 'avg_breath_rpm',
      type: 'number',
      unit: 'breaths/min',
      description: "Average breathing rate. Oura's spec says breaths per second, but its values (about 14) are breaths per minute.",
      sources: { oura: 'sleep.average_breath', vital: 'sleep.respiratory_rate' },
    },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the sleep document.", sources: { oura: 'sleep.id', vital: 'sleep.id', 'open-wearables': 'sleep.id' } },
  ],
  additions: [
    { name: 'is_main_sleep', type: 'boolean', description: 'True for the main sleep of a night.', sources: { oura: "sleep.type = 'long_sleep'", vital: "sleep.type = 'long_sleep'", 'open-wearables': 'not sleep.is_nap' } },
    TIME_UNCERTAIN,
    { name: 'sleep_algorithm_version', type: 'string', values: ['v1', 'v2'], description: "The version of Oura's sleep algorithm that scored the period.", sources: { oura: 'sleep.sleep_algorithm_version' } },
    { name: 'sleep_analysis_reason', type: 'string', values: ['foreground_sleep_analysis', 'bedtime_edit'], description: 'Why Oura analysed the period again.', sources: { oura: 'sleep.sleep_analysis_reason' } },
  ],
});

export const HRV = defineTable({
  name: 'hrv',
  title: 'Heart rate variability',
  description: "One row per 5-minute RMSSD sample of a sleep (Oura's sleep.hrv items that are not null; Open Wearables' RMSSD series). HRV of Oura's rest and deleted periods is left out.",
  rowIs: 'provider, user_id, timestamp_utc',
  leading: [
    ...WHO,
    { ...DAY, description: 'The day of the sleep the sample belongs to.', sources: { oura: 'sleep.day', 'open-wearables': "the day of the sleep containing the sample, else the sample's local date" } },
    { name: 'timestamp', type: 'local_datetime', description: 'Start of the sample, local time at the offset in force then.', sources: { oura: 'sleep.hrv.timestamp + index x sleep.hrv.interval', 'open-wearables': 'samples[].timestamp' } },
    { name: 'rmssd_ms', type: 'number', unit: 'ms', description: 'RMSSD.', sources: { oura: 'sleep.hrv.items[]', 'open-wearables': 'samples[].value (heart_rate_variability_rmssd)' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the document that carried the sample.", sources: { oura: 'sleep.id', 'open-wearables': 'the batch id' } },
  ],
  additions: [
    { name: 'sleep_id', type: 'string', privacy: 'id', description: 'The id of the sleep the sample belongs to (source_id of the sleep table).', sources: { oura: 'sleep.id', 'open-wearables': 'the sleep whose period contains the sample' } },
    { name: 'sleep_type', type: 'string', description: 'The type of that sleep.', sources: { oura: 'sleep.type', 'open-wearables': 'sleep.is_nap' } },
    TIME_UNCERTAIN,
  ],
});

const CONTRIBUTOR = 'Contributor score, 1-100.';

export const READINESS = defineTable({
  name: 'readiness',
  title: 'Daily readiness',
  description: 'One row per day and user: the readiness score, its contributors and the temperature deviations.',
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_readiness.day' } },
    { name: 'score', type: 'integer', description: 'Readiness score, 1-100.', sources: { oura: 'daily_readiness.score' } },
    { name: 'temperature_deviation_c', type: 'number', unit: '°C', description: 'Deviation of body temperature from the baseline.', sources: { oura: 'daily_readiness.temperature_deviation' } },
    { name: 'temperature_trend_deviation_c', type: 'number', unit: '°C', description: 'Deviation of the weighted temperature trend from the baseline.', sources: { oura: 'daily_readiness.temperature_trend_deviation' } },
    { name: 'activity_balance', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.activity_balance' } },
    { name: 'body_temperature', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.body_temperature' } },
    { name: 'hrv_balance', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.hrv_balance' } },
    { name: 'previous_day_activity', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.previous_day_activity' } },
    { name: 'previous_night', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.previous_night' } },
    { name: 'recovery_index', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.recovery_index' } },
    { name: 'resting_heart_rate', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.resting_heart_rate' } },
    { name: 'sleep_balance', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_readiness.contributors.sleep_balance' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the document.", sources: { oura: 'daily_readiness.id' } },
  ],
  additions: [],
});

export const ACTIVITY = defineTable({
  name: 'activity',
  title: 'Daily activity',
  description: 'One row per day and user: steps, energy, distance and time per activity level. An Oura activity day starts at 4 a.m. local time.',
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_activity.day', vital: 'activity.calendar_date' } },
    { name: 'score', type: 'integer', description: 'Activity score, 1-100.', sources: { oura: 'daily_activity.score' } },
    { name: 'steps', type: 'integer', description: 'Steps.', sources: { oura: 'daily_activity.steps', vital: 'activity.steps' } },
    { name: 'active_calories_kcal', type: 'number', unit: 'kcal', description: 'Energy spent in activity.', sources: { oura: 'daily_activity.active_calories', vital: 'activity.calories_active' } },
    { name: 'total_calories_kcal', type: 'number', unit: 'kcal', description: 'Total energy spent.', sources: { oura: 'daily_activity.total_calories', vital: 'activity.calories_total' } },
    { name: 'distance_m', type: 'number', unit: 'm', description: "Measured distance (Oura measures none: see equivalent_walking_distance_m).", sources: { vital: 'activity.distance' } },
    { name: 'high_activity_s', type: 'integer', unit: 's', description: 'Time in high activity.', sources: { oura: 'daily_activity.high_activity_time', vital: 'activity.high x 60' } },
    { name: 'medium_activity_s', type: 'integer', unit: 's', description: 'Time in medium activity.', sources: { oura: 'daily_activity.medium_activity_time', vital: 'activity.medium x 60' } },
    { name: 'low_activity_s', type: 'integer', unit: 's', description: 'Time in low activity.', sources: { oura: 'daily_activity.low_activity_time', vital: 'activity.low x 60' } },
    { name: 'sedentary_s', type: 'integer', unit: 's', description: 'Sedentary time.', sources: { oura: 'daily_activity.sedentary_time' } },
    { name: 'resting_s', type: 'integer', unit: 's', description: 'Resting time.', sources: { oura: 'daily_activity.resting_time' } },
    { name: 'non_wear_s', type: 'integer', unit: 's', description: 'Time the device was not worn.', sources: { oura: 'daily_activity.non_wear_time' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the document.", sources: { oura: 'daily_activity.id', vital: 'activity.id' } },
  ],
  additions: [
    { name: 'equivalent_walking_distance_m', type: 'number', unit: 'm', description: "Oura's estimate of the distance walked to spend the same energy (not a measured distance).", sources: { oura: 'daily_activity.equivalent_walking_distance' } },
  ],
});
