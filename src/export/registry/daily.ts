import { DAY, WHO, defineTable, type ColumnSpec } from './columns.js';

/** Oura's daily documents other than readiness and activity: one row per user and day. */

const CONTRIBUTOR = 'Contributor score, 1-100.';

function sourceId(type: string) {
  return { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the document.", sources: { oura: `${type}.id` } } as const satisfies ColumnSpec;
}

export const DAILY_SLEEP = defineTable({
  name: 'daily_sleep',
  title: 'Daily sleep score',
  description: "One row per day and user: Oura's sleep score and its contributors.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_sleep.day' } },
    { name: 'score', type: 'integer', description: 'Sleep score, 1-100.', sources: { oura: 'daily_sleep.score' } },
    { name: 'deep_sleep', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.deep_sleep' } },
    { name: 'efficiency', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.efficiency' } },
    { name: 'latency', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.latency' } },
    { name: 'rem_sleep', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.rem_sleep' } },
    { name: 'restfulness', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.restfulness' } },
    { name: 'timing', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.timing' } },
    { name: 'total_sleep', type: 'integer', description: CONTRIBUTOR, sources: { oura: 'daily_sleep.contributors.total_sleep' } },
    sourceId('daily_sleep'),
  ],
  additions: [],
});

export const SPO2 = defineTable({
  name: 'spo2',
  title: 'Daily blood oxygen',
  description: "One row per day and user: Oura's average blood oxygen saturation during the night and its breathing disturbance index.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_spo2.day' } },
    { name: 'spo2_avg_pct', type: 'number', unit: '%', description: 'Average oxygen saturation (SpO2) during the night.', sources: { oura: 'daily_spo2.spo2_percentage.average' } },
    { name: 'breathing_disturbance_index', type: 'integer', description: 'Breathing Disturbance Index, 0-100, from the SpO2 drops detected.', sources: { oura: 'daily_spo2.breathing_disturbance_index' } },
    sourceId('daily_spo2'),
  ],
  additions: [],
});

export const STRESS = defineTable({
  name: 'stress',
  title: 'Daily stress',
  description: "One row per day and user: Oura's time in high stress and high recovery, and its summary of the day.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_stress.day' } },
    { name: 'stress_high_s', type: 'integer', unit: 's', description: 'Time in a high stress zone (top quartile).', sources: { oura: 'daily_stress.stress_high' } },
    { name: 'recovery_high_s', type: 'integer', unit: 's', description: 'Time in a high recovery zone (bottom quartile).', sources: { oura: 'daily_stress.recovery_high' } },
    { name: 'day_summary', type: 'string', values: ['restored', 'normal', 'stressful'], description: 'Summary of the day.', sources: { oura: 'daily_stress.day_summary' } },
    sourceId('daily_stress'),
  ],
  additions: [],
});

export const RESILIENCE = defineTable({
  name: 'resilience',
  title: 'Daily resilience',
  description: "One row per day and user: Oura's long-term resilience level and its contributors.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_resilience.day' } },
    { name: 'level', type: 'string', values: ['limited', 'adequate', 'solid', 'strong', 'exceptional'], description: 'Resilience level.', sources: { oura: 'daily_resilience.level' } },
    { name: 'sleep_recovery', type: 'number', description: 'Contributor: sleep recovery, 0-100.', sources: { oura: 'daily_resilience.contributors.sleep_recovery' } },
    { name: 'daytime_recovery', type: 'number', description: 'Contributor: daytime recovery, 0-100.', sources: { oura: 'daily_resilience.contributors.daytime_recovery' } },
    { name: 'stress', type: 'number', description: 'Contributor: stress, 0-100.', sources: { oura: 'daily_resilience.contributors.stress' } },
    sourceId('daily_resilience'),
  ],
  additions: [],
});

export const CARDIOVASCULAR_AGE = defineTable({
  name: 'cardiovascular_age',
  title: 'Cardiovascular age',
  description: "One row per day and user: Oura's predicted vascular age. Oura's schema gives these documents no id: they are keyed by user and day.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'daily_cardiovascular_age.day' } },
    { name: 'vascular_age_years', type: 'integer', unit: 'years', description: 'Predicted vascular age, 18-100.', sources: { oura: 'daily_cardiovascular_age.vascular_age' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: 'The key wearhook gives the document (user id and day: Oura gives none).', sources: { oura: 'user_id:day' } },
  ],
  additions: [],
});

export const VO2_MAX = defineTable({
  name: 'vo2_max',
  title: 'VO2 max',
  description: "One row per estimate: Oura's VO2 max.",
  rowIs: 'provider, user_id, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'vo2_max.day' } },
    { name: 'vo2_max', type: 'number', unit: 'ml/kg/min', description: 'Estimated maximal oxygen uptake.', sources: { oura: 'vo2_max.vo2_max' } },
    sourceId('vo2_max'),
  ],
  additions: [],
});

export const SLEEP_TIME = defineTable({
  name: 'sleep_time',
  title: 'Recommended bedtime',
  description: "One row per day and user: Oura's optimal bedtime window and recommendation. The window is given as offsets from midnight of the day in its own zone.",
  rowIs: 'provider, user_id, day',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'sleep_time.day' } },
    { name: 'optimal_bedtime_start_s', type: 'integer', unit: 's', description: 'Start of the optimal bedtime window, seconds from local midnight (negative: the evening before).', sources: { oura: 'sleep_time.optimal_bedtime.start_offset' } },
    { name: 'optimal_bedtime_end_s', type: 'integer', unit: 's', description: 'End of the optimal bedtime window, seconds from local midnight.', sources: { oura: 'sleep_time.optimal_bedtime.end_offset' } },
    {
      name: 'recommendation',
      type: 'string',
      values: ['improve_efficiency', 'earlier_bedtime', 'later_bedtime', 'earlier_wake_up_time', 'later_wake_up_time', 'follow_optimal_bedtime'],
      description: 'Recommended action.',
      sources: { oura: 'sleep_time.recommendation' },
    },
    {
      name: 'status',
      type: 'string',
      values: ['not_enough_nights', 'not_enough_recent_nights', 'bad_sleep_quality', 'only_recommended_found', 'optimal_found'],
      description: 'Status of the recommendation.',
      sources: { oura: 'sleep_time.status' },
    },
    sourceId('sleep_time'),
  ],
  additions: [],
});
