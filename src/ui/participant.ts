import { getDocumentOp } from '../store/documents.js';
import { latestDataDayOp } from '../store/console.js';
import { participantZoneOp } from '../store/participants.js';
import type { Store } from '../store/store.js';
import { exportRowsOf } from '../report/core.js';
import type { ExportType, Value } from '../export/tables.js';
import { ouraHypnogram, OURA_PHASE_SECONDS } from '../providers/oura/hypnogram.js';
import { formatOffset } from '../time/instant.js';
import type { ConsoleContext } from './context.js';
import { modeLabel } from './context.js';
import { addDays, isDay } from './days.js';
import { html, jsonScript, page, query } from './html.js';

/**
 * One participant's data as charts: nightly sleep by stage, HRV and resting heart rate, the
 * readiness and activity scores, and the hypnogram of one night. The numbers come from the
 * export's own rows, so a chart shows exactly what `wearhook export` would write.
 */

/** Who the page is about: a label and the provider accounts that are theirs. */
export interface ChartSubject {
  label: string;
  tz: string | null;
  accounts: { provider: string; user_id: string }[];
}

/** Days as x values: seconds of that date's midnight in UTC; the script draws them as dates, whatever the browser's zone. */
function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

export interface ChartData {
  range: { from: string; to: string };
  nights: { x: number[]; deep: (number | null)[]; light: (number | null)[]; rem: (number | null)[]; awake: (number | null)[] };
  trend: { x: number[]; hrv: (number | null)[]; rhr: (number | null)[] };
  scores: { x: number[]; readiness: (number | null)[]; activity: (number | null)[] };
  /** x: the participant's local wall-clock time (seconds, as if UTC), one point per 5 minutes and one to close the last. */
  hypnogram: { night: string; provider: string; offsets: string[]; x: number[]; stage: (number | null)[] } | null;
  /** Nights whose stages are known, newest first, for the night picker. */
  stagedNights: string[];
}

type Row = Record<string, Value | undefined>;

async function rows(store: Store, type: ExportType, subject: ChartSubject, from: string, to: string): Promise<Row[]> {
  const users = subject.accounts.map((a) => ({ provider: a.provider, userId: a.user_id }));
  const out: Row[] = [];
  for await (const row of exportRowsOf(store, type, { from, to, users })) out.push(row);
  return out;
}

const number = (v: Value | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const hours = (v: Value | undefined): number | null => {
  const s = number(v);
  return s === null ? null : Math.round((s / 3600) * 100) / 100;
};

/** The main sleep of a night (not a nap): the export's flag where it has one, else the providers' own names. */
function isMainSleep(row: Row): boolean {
  if (typeof row.is_main_sleep === 'boolean') return row.is_main_sleep;
  return row.type === 'long_sleep' || (row.provider === 'open-wearables' && row.type === 'sleep');
}

/** One main sleep per night: the longest in bed when two providers report the same night. */
function mainSleeps(sleep: Row[]): Map<string, Row> {
  const nights = new Map<string, Row>();
  for (const row of sleep) {
    if (!isMainSleep(row) || typeof row.day !== 'string') continue;
    const known = nights.get(row.day);
    if (!known || (number(row.time_in_bed_s) ?? 0) > (number(known.time_in_bed_s) ?? 0)) nights.set(row.day, row);
  }
  return new Map([...nights].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function firstByDay(list: Row[], column: string): Map<string, number> {
  const byDay = new Map<string, number>();
  for (const row of list) {
    const value = number(row[column]);
    if (typeof row.day === 'string' && value !== null && !byDay.has(row.day)) byDay.set(row.day, value);
  }
  return byDay;
}

export async function chartData(store: Store, subject: ChartSubject, from: string, to: string, night?: string): Promise<ChartData> {
  const nights = mainSleeps(await rows(store, 'sleep', subject, from, to));
  const hrvByDay = new Map<string, { sum: number; n: number }>();
  for (const row of await rows(store, 'hrv', subject, from, to)) {
    const value = number(row.rmssd_ms);
    if (value === null || typeof row.day !== 'string') continue;
    const entry = hrvByDay.get(row.day) ?? { sum: 0, n: 0 };
    entry.sum += value;
    entry.n++;
    hrvByDay.set(row.day, entry);
  }
  const readiness = firstByDay(await rows(store, 'readiness', subject, from, to), 'score');
  const activity = firstByDay(await rows(store, 'activity', subject, from, to), 'score');

  const nightDays = [...nights.keys()];
  const trendDays = [...new Set([...nightDays, ...hrvByDay.keys()])].sort();
  const scoreDays = [...new Set([...readiness.keys(), ...activity.keys()])].sort();
  const nightlyHrv = (day: string) => {
    const fromSleep = number(nights.get(day)?.avg_hrv_ms);
    if (fromSleep !== null) return fromSleep;
    const samples = hrvByDay.get(day);
    return samples ? Math.round((samples.sum / samples.n) * 10) / 10 : null;
  };

  const staged = nightDays.filter((day) => nights.get(day)!.provider === 'oura').reverse();
  const chosen = night && staged.includes(night) ? night : staged[0];
  return {
    range: { from, to },
    nights: {
      x: nightDays.map(daySeconds),
      deep: nightDays.map((d) => hours(nights.get(d)!.deep_s)),
      light: nightDays.map((d) => hours(nights.get(d)!.light_s)),
      rem: nightDays.map((d) => hours(nights.get(d)!.rem_s)),
      awake: nightDays.map((d) => hours(nights.get(d)!.awake_s)),
    },
    trend: { x: trendDays.map(daySeconds), hrv: trendDays.map(nightlyHrv), rhr: trendDays.map((d) => number(nights.get(d)?.lowest_hr_bpm)) },
    scores: {
      x: scoreDays.map(daySeconds),
      readiness: scoreDays.map((d) => readiness.get(d) ?? null),
      activity: scoreDays.map((d) => activity.get(d) ?? null),
    },
    hypnogram: chosen ? await hypnogramOf(store, nights.get(chosen)!) : null,
    stagedNights: staged,
  };
}

async function hypnogramOf(store: Store, sleep: Row): Promise<ChartData['hypnogram']> {
  const doc = await store.read(getDocumentOp, 'oura', 'sleep', String(sleep.source_id));
  if (!doc) return null;
  const userId = String(sleep.user_id);
  // The participant's zone, as zoneOf gives it to the export.
  const epochs = ouraHypnogram(JSON.parse(doc.data), await store.read(participantZoneOp, 'oura', userId));
  if (!epochs || epochs.length === 0) return null;
  const local = (ms: number, offset: number) => ms / 1000 + offset * 60;
  const last = epochs.at(-1)!;
  return {
    night: String(sleep.day),
    provider: 'oura',
    offsets: [...new Set(epochs.map((e) => formatOffset(e.offsetMin)))],
    x: [...epochs.map((e) => local(e.ms, e.offsetMin)), local(last.ms + OURA_PHASE_SECONDS * 1000, last.offsetMin)],
    stage: [...epochs.map((e) => e.stage), last.stage],
  };
}

/** The range shown: the one asked for, else the 30 days up to the participant's newest data. */
export async function chartRange(store: Store, subject: ChartSubject, params: URLSearchParams): Promise<{ from: string; to: string }> {
  const to = isDay(params.get('to')) ? params.get('to')! : ((await store.read(latestDataDayOp, subject.accounts)) ?? new Date().toISOString().slice(0, 10));
  const from = isDay(params.get('from')) && params.get('from')! <= to ? params.get('from')! : addDays(to, -29);
  return { from, to };
}

export async function participantPage(ctx: ConsoleContext, subject: ChartSubject, params: URLSearchParams): Promise<string> {
  const range = await chartRange(ctx.store, subject, params);
  const data = await chartData(ctx.store, subject, range.from, range.to, params.get('night') ?? undefined);
  const hyp = data.hypnogram;
  const zoneNote = subject.tz ? `${subject.tz}` : hyp ? `UTC${hyp.offsets.join(' then UTC')}, as the provider wrote it` : 'as the provider wrote it';
  const chart = (id: string, title: string, note: string, empty: boolean, extra: unknown = '') =>
    html`<section class="chart"><h2>${title} <small>${note}</small></h2>${extra}${
      empty ? html`<p class="none" id="${id}-none">No data in this range.</p>` : html`<div class="plot" id="chart-${id}" data-chart="${id}"></div>`
    }</section>`;
  const nightPicker =
    data.stagedNights.length > 1
      ? html`<form method="get" class="filters"><input type="hidden" name="from" value="${range.from}"><input type="hidden" name="to" value="${range.to}">
<select name="night" aria-label="night" data-autosubmit>${data.stagedNights.map((n) => html`<option value="${n}" ${n === hyp?.night ? html`selected` : ''}>${n}</option>`)}</select></form>`
      : '';
  const body = html`
<p class="crumbs"><a href="participants">Participants</a> / ${subject.label}</p>
<h1>${subject.label}</h1>
<dl class="facts">
<dt>accounts</dt><dd>${subject.accounts.length ? subject.accounts.map((a, i) => html`${i ? ', ' : ''}${a.provider} <code>${a.user_id}</code>`) : 'none linked'}</dd>
<dt>local time</dt><dd>${zoneNote}</dd>
</dl>
<form method="get" class="filters" action="participants/${encodeURIComponent(subject.label)}">
  <label>from <input type="date" name="from" value="${range.from}"></label>
  <label>to <input type="date" name="to" value="${range.to}"></label>
  <button type="submit">Show</button>
</form>
<div class="charts">
${chart('nights', 'Nightly sleep', 'hours by stage, main sleep of each night', data.nights.x.length === 0)}
${chart('trend', 'HRV and resting heart rate', 'nightly average RMSSD (ms), lowest heart rate (bpm)', data.trend.x.length === 0)}
${chart('scores', 'Readiness and activity scores', '0 to 100', data.scores.x.length === 0)}
${chart('hypnogram', hyp ? `The night of ${hyp.night}` : 'One night', 'stages every 5 minutes, local time', hyp === null, nightPicker)}
</div>
${jsonScript('chart-data', data)}`;
  return page({ title: subject.label, section: 'participants', base: ctx.base, body, mode: modeLabel(ctx), charts: true });
}

export function participantLink(label: string, range?: { from: string; to: string }): string {
  return `participants/${encodeURIComponent(label)}${range ? query(range) : ''}`;
}
