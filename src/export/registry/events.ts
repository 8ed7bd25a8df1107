import { DAY, TIME_UNCERTAIN, WHO, defineTable } from './columns.js';

/** Things that happen at a time: workouts, sessions, tags, rest mode, the ring's setup. */

export const WORKOUTS = defineTable({
  name: 'workouts',
  title: 'Workouts',
  description: 'One row per workout (Oura, Vital, Open Wearables).',
  rowIs: 'provider, user_id, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'workout.day', vital: 'the local date the workout ends', 'open-wearables': 'the local date the workout ends' } },
    { name: 'start', type: 'local_datetime', description: 'Start of the workout, local time.', sources: { oura: 'workout.start_datetime', vital: 'workouts.time_start + timezone_offset', 'open-wearables': 'workout.start_time' } },
    { name: 'end', type: 'local_datetime', description: 'End of the workout, local time.', sources: { oura: 'workout.end_datetime', vital: 'workouts.time_end + timezone_offset', 'open-wearables': 'workout.end_time' } },
    { name: 'activity', type: 'string', description: "The provider's name of the activity (walking, cycling, ...).", sources: { oura: 'workout.activity' } },
    { name: 'intensity', type: 'string', values: ['easy', 'moderate', 'hard'], description: 'Intensity.', sources: { oura: 'workout.intensity' } },
    { name: 'duration_s', type: 'integer', unit: 's', description: 'Duration of the workout.', sources: { oura: 'end_datetime - start_datetime', vital: 'time_end - time_start', 'open-wearables': 'workout.duration_s' } },
    { name: 'calories_kcal', type: 'number', unit: 'kcal', description: 'Energy spent.', sources: { oura: 'workout.calories', vital: 'workouts.calories' } },
    { name: 'distance_m', type: 'number', unit: 'm', description: 'Distance travelled.', sources: { oura: 'workout.distance', vital: 'workouts.distance' } },
    { name: 'avg_hr_bpm', type: 'number', unit: 'bpm', description: 'Average heart rate.', sources: { vital: 'workouts.average_hr', 'open-wearables': 'workout.avg_hr' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the workout.", sources: { oura: 'workout.id', vital: 'workouts.id', 'open-wearables': 'workout.id' } },
  ],
  additions: [
    { name: 'workout_source', type: 'string', values: ['manual', 'autodetected', 'confirmed', 'workout_heart_rate'], description: 'How Oura knows of the workout.', sources: { oura: 'workout.source' } },
    { name: 'workout_label', type: 'string', privacy: 'free_text', description: "The user's own label of the workout (free text: dropped by --pseudonymize).", sources: { oura: 'workout.label' } },
    TIME_UNCERTAIN,
  ],
});

export const SESSIONS = defineTable({
  name: 'sessions',
  title: 'Sessions',
  description: "One row per Oura session (breathing, meditation, nap, ...). Its 5-minute heart rate is in the heart_rate table (context session).",
  rowIs: 'provider, user_id, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'session.day' } },
    { name: 'start', type: 'local_datetime', description: 'Start of the session, local time.', sources: { oura: 'session.start_datetime' } },
    { name: 'end', type: 'local_datetime', description: 'End of the session, local time.', sources: { oura: 'session.end_datetime' } },
    { name: 'type', type: 'string', values: ['breathing', 'meditation', 'nap', 'relaxation', 'rest', 'body_status'], description: 'Kind of session.', sources: { oura: 'session.type' } },
    { name: 'mood', type: 'string', values: ['bad', 'worse', 'same', 'good', 'great'], description: 'Mood the user gave.', sources: { oura: 'session.mood' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the session.", sources: { oura: 'session.id' } },
  ],
  additions: [TIME_UNCERTAIN],
});

export const TAGS = defineTable({
  name: 'tags',
  title: 'Tags',
  description: "One row per tag: Oura's enhanced tags, and each tag of Oura's older tag documents. Comments and custom names are free text (dropped by --pseudonymize).",
  rowIs: 'provider, user_id, source_id, tag',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'enhanced_tag.start_day; tag.day' } },
    { name: 'start', type: 'local_datetime', description: 'When the tag starts, local time.', sources: { oura: 'enhanced_tag.start_time; tag.timestamp' } },
    { name: 'end', type: 'local_datetime', description: 'When the tag ends, local time (empty for a moment).', sources: { oura: 'enhanced_tag.end_time' } },
    { name: 'tag', type: 'string', description: "Oura's code of the tag type (custom for a custom tag; empty for a text-only tag).", sources: { oura: 'enhanced_tag.tag_type_code; tag.tags[]' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the tag document.", sources: { oura: 'enhanced_tag.id; tag.id' } },
  ],
  additions: [
    { name: 'kind', type: 'string', values: ['enhanced_tag', 'tag'], description: 'Which Oura collection the tag comes from.', sources: { oura: 'the data type' } },
    { name: 'end_day', type: 'date', description: 'The day the tag ends.', sources: { oura: 'enhanced_tag.end_day' } },
    { name: 'custom_name', type: 'string', privacy: 'free_text', description: 'The name of a custom tag (free text).', sources: { oura: 'enhanced_tag.custom_name' } },
    { name: 'comment', type: 'string', privacy: 'free_text', description: "The user's comment or note (free text).", sources: { oura: 'enhanced_tag.comment; tag.text' } },
    TIME_UNCERTAIN,
  ],
});

export const REST_MODE_PERIODS = defineTable({
  name: 'rest_mode_periods',
  title: 'Rest mode periods',
  description: 'One row per period the user put the ring in rest mode (illness, recovery).',
  rowIs: 'provider, user_id, source_id',
  leading: [
    ...WHO,
    { ...DAY, sources: { oura: 'rest_mode_period.start_day' } },
    { name: 'start', type: 'local_datetime', description: 'Start of the period, local time.', sources: { oura: 'rest_mode_period.start_time' } },
    { name: 'end', type: 'local_datetime', description: 'End of the period, local time (empty while it lasts).', sources: { oura: 'rest_mode_period.end_time' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the period.", sources: { oura: 'rest_mode_period.id' } },
  ],
  additions: [
    { name: 'end_day', type: 'date', description: 'The day the period ends.', sources: { oura: 'rest_mode_period.end_day' } },
    { name: 'episodes', type: 'integer', description: 'Number of episodes the user logged in the period.', sources: { oura: 'rest_mode_period.episodes' } },
    TIME_UNCERTAIN,
  ],
});

export const RING_CONFIGURATION = defineTable({
  name: 'ring_configuration',
  title: 'Ring configuration',
  description: "One row per ring a user set up. Not day data: every ring is exported whatever --from and --to say.",
  rowIs: 'provider, user_id, source_id',
  undated: true,
  leading: [
    ...WHO,
    { ...DAY, description: 'The (UTC) date the ring was set up.', sources: { oura: 'ring_configuration.set_up_at' } },
    { name: 'set_up_at', type: 'utc_datetime', description: 'When the ring was set up (UTC, as Oura gives it).', sources: { oura: 'ring_configuration.set_up_at' } },
    { name: 'hardware_type', type: 'string', values: ['gen1', 'gen2', 'gen2m', 'gen3', 'gen4'], description: 'Ring generation.', sources: { oura: 'ring_configuration.hardware_type' } },
    { name: 'firmware_version', type: 'string', description: 'Firmware version.', sources: { oura: 'ring_configuration.firmware_version' } },
    { name: 'design', type: 'string', values: ['balance', 'balance_diamond', 'heritage', 'horizon'], description: 'Ring design.', sources: { oura: 'ring_configuration.design' } },
    {
      name: 'color',
      type: 'string',
      values: ['brushed_silver', 'glossy_black', 'glossy_gold', 'glossy_white', 'gucci', 'matt_gold', 'rose', 'silver', 'stealth_black', 'titanium', 'titanium_and_gold'],
      description: 'Ring color.',
      sources: { oura: 'ring_configuration.color' },
    },
    { name: 'size', type: 'integer', description: 'US ring size.', sources: { oura: 'ring_configuration.size' } },
    { name: 'source_id', type: 'string', privacy: 'id', description: "The provider's id of the configuration.", sources: { oura: 'ring_configuration.id' } },
  ],
  additions: [],
});
