import { offsetOfWritten } from '../../export/local-times.js';
import { int, num, obj, str, withCommon, type ExportDocument, type Row, type RowFields, type RowSource } from '../../export/tables.js';

/** Oura's daily documents beyond readiness and activity: one row per document. */

function dailySleepRows(doc: ExportDocument): Row<'daily_sleep'>[] {
  const d = obj(doc.data);
  const c = obj(d.contributors);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      score: int(d.score),
      deep_sleep: int(c.deep_sleep),
      efficiency: int(c.efficiency),
      latency: int(c.latency),
      rem_sleep: int(c.rem_sleep),
      restfulness: int(c.restfulness),
      timing: int(c.timing),
      total_sleep: int(c.total_sleep),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
    } satisfies Row<'daily_sleep'>),
  ];
}

function spo2Rows(doc: ExportDocument): Row<'spo2'>[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      spo2_avg_pct: num(obj(d.spo2_percentage).average),
      breathing_disturbance_index: int(d.breathing_disturbance_index),
      source_id: doc.id,
      utc_offset_min: null,
    } satisfies Row<'spo2'>),
  ];
}

function stressRows(doc: ExportDocument): Row<'stress'>[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      stress_high_s: int(d.stress_high),
      recovery_high_s: int(d.recovery_high),
      day_summary: str(d.day_summary),
      source_id: doc.id,
      utc_offset_min: null,
    } satisfies Row<'stress'>),
  ];
}

function resilienceRows(doc: ExportDocument): Row<'resilience'>[] {
  const d = obj(doc.data);
  const c = obj(d.contributors);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      level: str(d.level),
      sleep_recovery: num(c.sleep_recovery),
      daytime_recovery: num(c.daytime_recovery),
      stress: num(c.stress),
      source_id: doc.id,
      utc_offset_min: null,
    } satisfies Row<'resilience'>),
  ];
}

function cardiovascularAgeRows(doc: ExportDocument): Row<'cardiovascular_age'>[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      vascular_age_years: int(d.vascular_age),
      source_id: doc.id,
      utc_offset_min: null,
    } satisfies Row<'cardiovascular_age'>),
  ];
}

function vo2MaxRows(doc: ExportDocument): Row<'vo2_max'>[] {
  const d = obj(doc.data);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      vo2_max: num(d.vo2_max),
      source_id: doc.id,
      utc_offset_min: offsetOfWritten(d.timestamp, doc.zone),
    } satisfies Row<'vo2_max'>),
  ];
}

function sleepTimeRows(doc: ExportDocument): Row<'sleep_time'>[] {
  const d = obj(doc.data);
  const window = obj(d.optimal_bedtime);
  const dayTz = num(window.day_tz);
  return [
    withCommon(doc.common, {
      day: str(d.day) ?? doc.day,
      optimal_bedtime_start_s: int(window.start_offset),
      optimal_bedtime_end_s: int(window.end_offset),
      recommendation: str(d.recommendation),
      status: str(d.status),
      source_id: doc.id,
      // The window's day_tz: seconds east of UTC.
      utc_offset_min: dayTz === null ? null : Math.round(dayTz / 60),
    } satisfies Row<'sleep_time'>),
  ];
}

const source = (documentType: string, toRows: (doc: ExportDocument) => RowFields[]): RowSource[] => [{ kind: 'document', provider: 'oura', documentType, toRows }];

export const OURA_DAILY_SOURCES: Record<string, RowSource[]> = {
  daily_sleep: source('daily_sleep', dailySleepRows),
  spo2: source('daily_spo2', spo2Rows),
  stress: source('daily_stress', stressRows),
  resilience: source('daily_resilience', resilienceRows),
  cardiovascular_age: source('daily_cardiovascular_age', cardiovascularAgeRows),
  vo2_max: source('vo2_max', vo2MaxRows),
  sleep_time: source('sleep_time', sleepTimeRows),
};
