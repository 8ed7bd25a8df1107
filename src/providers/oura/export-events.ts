import { instantWithOffset } from '../../time/instant.js';
import { localFrame } from '../../time/local-time.js';
import { spanColumns, writtenSpan } from '../../export/local-times.js';
import { int, num, obj, str, withCommon, type ExportDocument, type Row, type RowFields, type RowSource } from '../../export/tables.js';

/** Oura's events: workouts, sessions, tags, rest mode periods, ring configurations. */

/** A document's span from two local timestamps, in the participant's zone when known, with its length. */
export function eventSpan(doc: ExportDocument, startText: unknown, endText: unknown) {
  const span = writtenSpan(startText, endText, doc.zone);
  const t = spanColumns(doc.times, span, localFrame(span, doc.zone));
  // Added to the object rather than spread into a new one: in Node 20 the spread costs a workouts export 2 µs a row.
  return Object.assign(t, { seconds: span.startMs !== null && span.endMs !== null ? Math.round((span.endMs - span.startMs) / 1000) : null });
}

function workoutRows(doc: ExportDocument): Row<'workouts'>[] {
  const d = obj(doc.data);
  const t = eventSpan(doc, d.start_datetime, d.end_datetime);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      start: t.start ?? str(d.start_datetime),
      end: t.end ?? str(d.end_datetime),
      activity: str(d.activity),
      intensity: str(d.intensity),
      duration_s: t.seconds,
      calories_kcal: num(d.calories),
      distance_m: num(d.distance),
      avg_hr_bpm: null,
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: t.endUtc,
      utc_offset_min: t.offset,
      workout_source: str(d.source),
      workout_label: str(d.label),
      time_uncertain: t.uncertain,
    } satisfies Row<'workouts'>),
  ];
}

function sessionRows(doc: ExportDocument): Row<'sessions'>[] {
  const d = obj(doc.data);
  const t = eventSpan(doc, d.start_datetime, d.end_datetime);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      start: t.start ?? str(d.start_datetime),
      end: t.end ?? str(d.end_datetime),
      type: str(d.type),
      mood: str(d.mood),
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: t.endUtc,
      utc_offset_min: t.offset,
      time_uncertain: t.uncertain,
    } satisfies Row<'sessions'>),
  ];
}

function enhancedTagRows(doc: ExportDocument): Row<'tags'>[] {
  const d = obj(doc.data);
  const t = eventSpan(doc, d.start_time, d.end_time);
  return [
    withCommon(doc.common, {
      day: str(d.start_day) ?? doc.day,
      start: t.start ?? str(d.start_time),
      end: t.end ?? str(d.end_time),
      tag: str(d.tag_type_code),
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: t.endUtc,
      utc_offset_min: t.offset,
      kind: 'enhanced_tag',
      end_day: str(d.end_day),
      custom_name: str(d.custom_name),
      comment: str(d.comment),
      time_uncertain: t.uncertain,
    } satisfies Row<'tags'>),
  ];
}

/** Oura's older tag documents: one row per tag they list (one row without a tag for a note alone). */
function tagRows(doc: ExportDocument): Row<'tags'>[] {
  const d = obj(doc.data);
  const t = eventSpan(doc, d.timestamp, null);
  const tags = Array.isArray(d.tags) && d.tags.length > 0 ? d.tags.map(str) : [null];
  return tags.map((tag) =>
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      start: t.start ?? str(d.timestamp),
      end: null,
      tag,
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: null,
      utc_offset_min: t.offset,
      kind: 'tag',
      end_day: null,
      custom_name: null,
      comment: str(d.text),
      time_uncertain: t.uncertain,
    } satisfies Row<'tags'>),
  );
}

function restModeRows(doc: ExportDocument): Row<'rest_mode_periods'>[] {
  const d = obj(doc.data);
  const t = eventSpan(doc, d.start_time, d.end_time);
  return [
    withCommon(doc.common, {
      day: str(d.start_day) ?? doc.day,
      start: t.start ?? str(d.start_time),
      end: t.end ?? str(d.end_time),
      source_id: doc.id,
      start_utc: t.startUtc,
      end_utc: t.endUtc,
      utc_offset_min: t.offset,
      end_day: str(d.end_day),
      episodes: Array.isArray(d.episodes) ? d.episodes.length : null,
      time_uncertain: t.uncertain,
    } satisfies Row<'rest_mode_periods'>),
  ];
}

function ringConfigurationRows(doc: ExportDocument): Row<'ring_configuration'>[] {
  const d = obj(doc.data);
  // Oura: "UTC timestamp indicating when the ring was set up" (a time without an offset is UTC).
  const setUp = instantWithOffset(d.set_up_at) ?? instantWithOffset(typeof d.set_up_at === 'string' ? `${d.set_up_at}Z` : null);
  const utc = setUp === null ? null : doc.times.utc.utc(setUp);
  return [
    withCommon(doc.common, {
      day: utc ? utc.slice(0, 10) : doc.day,
      set_up_at: utc,
      hardware_type: str(d.hardware_type),
      firmware_version: str(d.firmware_version),
      design: str(d.design),
      color: str(d.color),
      size: int(d.size),
      source_id: doc.id,
      utc_offset_min: utc === null ? null : 0,
    } satisfies Row<'ring_configuration'>),
  ];
}

const documents = (documentType: string, toRows: (doc: ExportDocument) => RowFields[]): RowSource => ({ kind: 'document', provider: 'oura', documentType, toRows });

export const OURA_EVENT_SOURCES: Record<string, RowSource[]> = {
  workouts: [documents('workout', workoutRows)],
  sessions: [documents('session', sessionRows)],
  tags: [documents('enhanced_tag', enhancedTagRows), documents('tag', tagRows)],
  rest_mode_periods: [documents('rest_mode_period', restModeRows)],
  ring_configuration: [documents('ring_configuration', ringConfigurationRows)],
};
