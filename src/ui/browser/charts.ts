import type uPlot from 'uplot';

/**
 * The participant page's charts, drawn with uPlot from the JSON the server embedded. Every x
 * value is already in the participant's frame (days as UTC midnights, the night's times as
 * local wall-clock seconds), so uPlot is told to read them as UTC: the browser's own zone
 * never shifts a participant's night. Each chart records on its element what it drew
 * (`data-drawn`: the non-null points of each series), for people reading the DOM and for tests.
 */

declare global {
  interface Window {
    uPlot: typeof uPlot;
    wearhookCharts: Record<string, uPlot>;
  }
}

type Series = (number | null)[];

interface ChartData {
  nights: { x: number[]; deep: Series; light: Series; rem: Series; awake: Series };
  trend: { x: number[]; hrv: Series; rhr: Series };
  scores: { x: number[]; readiness: Series; activity: Series };
  hypnogram: { night: string; x: number[]; stage: Series } | null;
}

const U = window.uPlot;
const css = getComputedStyle(document.documentElement);
const colour = (name: string) => css.getPropertyValue(`--${name}`).trim();
const utc = (seconds: number) => U.tzDate(new Date(seconds * 1000), 'Etc/UTC');
const DAY = 86_400;

function size(element: HTMLElement): { width: number; height: number } {
  return { width: Math.max(320, element.clientWidth), height: 240 };
}

function recordDrawn(element: HTMLElement, names: string[], data: Series[]): ((self: uPlot) => void)[] {
  return [
    () => {
      const drawn: Record<string, number> = {};
      names.forEach((name, i) => (drawn[name] = data[i]!.filter((v) => v !== null).length));
      element.dataset.drawn = JSON.stringify(drawn);
    },
  ];
}

function make(id: string, options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): void {
  const element = document.getElementById(`chart-${id}`);
  if (!element) return;
  const chart = new U({ ...size(element), ...options, tzDate: utc }, data, element);
  window.wearhookCharts[id] = chart;
  new ResizeObserver(() => chart.setSize(size(element))).observe(element);
}

const hoursValue = (raw: Series) => (_u: uPlot, _v: number | null, _si: number, i: number | null) =>
  i === null || raw[i] === null || raw[i] === undefined ? '-' : `${raw[i]!.toFixed(2)} h`;

/** Stacked bars: each series is drawn as the running total up to it, tallest first, so each stage shows as its own band. */
function nights(d: ChartData['nights']): void {
  const element = document.getElementById('chart-nights');
  if (!element) return;
  const stages: [string, Series, string][] = [
    ['awake', d.awake, colour('awake')],
    ['REM', d.rem, colour('rem')],
    ['light', d.light, colour('light')],
    ['deep', d.deep, colour('deep')],
  ];
  // Running totals from the bottom (deep) up.
  const bottomUp = [...stages].reverse();
  const totals = bottomUp.map((_, k) =>
    d.x.map((_x, i) => {
      const parts = bottomUp.slice(0, k + 1).map(([, s]) => s[i]);
      return parts.every((p) => p === null || p === undefined) ? null : parts.reduce<number>((sum, p) => sum + (p ?? 0), 0);
    }),
  );
  const drawOrder = totals.reverse(); // awake (the whole night) first, deep last, on top
  const bars = U.paths.bars!({ size: [0.7, 40], gap: 1 });
  make(
    'nights',
    {
      scales: { x: { time: true, range: (_u, min, max) => [min - DAY / 2, max + DAY / 2] } },
      axes: [{}, { label: 'hours', values: (_u, ticks) => ticks.map((t) => `${t} h`) }],
      series: [{ label: 'night', value: '{YYYY}-{MM}-{DD}' }, ...stages.map(([label, raw, fill]) => ({ label, fill, stroke: fill, width: 0, paths: bars, points: { show: false }, value: hoursValue(raw) }))],
      hooks: { draw: recordDrawn(element, stages.map(([name]) => name), stages.map(([, raw]) => raw)) },
    },
    [d.x, ...drawOrder],
  );
}

function trend(d: ChartData['trend']): void {
  const element = document.getElementById('chart-trend');
  if (!element) return;
  make(
    'trend',
    {
      scales: { x: { time: true }, ms: {}, bpm: {} },
      axes: [{}, { scale: 'ms', label: 'HRV (ms)' }, { scale: 'bpm', label: 'resting HR (bpm)', side: 1, grid: { show: false } }],
      series: [
        { label: 'night', value: '{YYYY}-{MM}-{DD}' },
        { label: 'HRV (ms)', scale: 'ms', stroke: colour('accent'), width: 2, spanGaps: true, points: { show: true, size: 6 } },
        { label: 'resting HR (bpm)', scale: 'bpm', stroke: colour('bad'), width: 2, spanGaps: true, points: { show: true, size: 6 } },
      ],
      hooks: { draw: recordDrawn(element, ['hrv', 'rhr'], [d.hrv, d.rhr]) },
    },
    [d.x, d.hrv, d.rhr],
  );
}

function scores(d: ChartData['scores']): void {
  const element = document.getElementById('chart-scores');
  if (!element) return;
  make(
    'scores',
    {
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [{}, { label: 'score' }],
      series: [
        { label: 'day', value: '{YYYY}-{MM}-{DD}' },
        { label: 'readiness', stroke: colour('ok'), width: 2, spanGaps: true, points: { show: true, size: 6 } },
        { label: 'activity', stroke: colour('warn'), width: 2, spanGaps: true, points: { show: true, size: 6 } },
      ],
      hooks: { draw: recordDrawn(element, ['readiness', 'activity'], [d.readiness, d.activity]) },
    },
    [d.x, d.readiness, d.activity],
  );
}

const STAGES = ['', 'deep', 'light', 'REM', 'awake'];

function hypnogram(d: NonNullable<ChartData['hypnogram']>): void {
  const element = document.getElementById('chart-hypnogram');
  if (!element) return;
  make(
    'hypnogram',
    {
      scales: { x: { time: true }, y: { range: [0.5, 4.5] } },
      axes: [{ values: [[60, '{HH}:{mm}', null, null, null, null, null, null, 0]] as unknown as uPlot.Axis.Values }, { size: 64, splits: () => [1, 2, 3, 4], values: (_u, ticks) => ticks.map((t) => STAGES[t] ?? '') }],
      series: [
        { label: 'local time', value: '{HH}:{mm}' },
        { label: 'stage', stroke: colour('deep'), width: 2, paths: U.paths.stepped!({ align: 1 }), points: { show: false }, value: (_u, v) => (v === null ? '-' : STAGES[v] ?? '-') },
      ],
      // The last point only closes the last 5 minutes: one stage per epoch is what was drawn.
      hooks: { draw: recordDrawn(element, ['stage'], [d.stage.slice(0, -1)]) },
    },
    [d.x, d.stage],
  );
}

const dataElement = document.getElementById('chart-data');
if (dataElement) {
  window.wearhookCharts = {};
  const data = JSON.parse(dataElement.textContent ?? '{}') as ChartData;
  nights(data.nights);
  trend(data.trend);
  scores(data.scores);
  if (data.hypnogram) hypnogram(data.hypnogram);
}
document.querySelectorAll<HTMLSelectElement>('select[data-autosubmit]').forEach((select) => select.addEventListener('change', () => select.form?.requestSubmit()));
