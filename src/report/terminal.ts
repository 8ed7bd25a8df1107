import type { ChalkInstance } from 'chalk';
import { percent } from '../sync/coverage.js';
import { dayCount } from '../util/days.js';
import type { DayState, ParticipantReport, Report } from './core.js';

/**
 * The report on a terminal: one line per participant with a calendar strip (a cell per day,
 * newest on the right), then its flags; a legend below. The strip takes the room the terminal
 * leaves after labels and flags, showing the most recent days when not all of them fit.
 */

const CELLS: Record<DayState, { glyph: string; paint: (c: ChalkInstance, s: string) => string; legend: string }> = {
  complete: { glyph: '█', paint: (c, s) => c.green(s), legend: 'all arrived' },
  partial: { glyph: '▒', paint: (c, s) => c.yellow(s), legend: 'some' },
  none: { glyph: '·', paint: (c, s) => c.red(s), legend: 'nothing' },
  not_enrolled: { glyph: '░', paint: (c, s) => c.gray(s), legend: 'not enrolled' },
  future: { glyph: ' ', paint: (_c, s) => s, legend: 'not yet' },
};

const MAX_LABEL = 16;
/** Fewer cells than this and the flags go on a line of their own. */
const MIN_CELLS = 7;

export interface TerminalOptions {
  /** Columns of the terminal (80 when unknown). */
  width: number;
  color: ChalkInstance;
}

export function renderReport(report: Report, options: TerminalOptions): string[] {
  const c = options.color;
  const participants = report.participants;
  const totalDays = participants[0]?.days.length ?? dayCount(report.from, report.to);
  if (participants.length === 0) return ['No participants to report on; add them with `wearhook participants add`.'];
  // Writing into the last column makes some terminals wrap: leave it free.
  const room = Math.max(20, options.width - 1);
  const labelWidth = Math.min(MAX_LABEL, Math.max(...participants.map((p) => p.label.length)));
  const flagTexts = participants.map(flagText);
  const flagWidth = Math.max(...flagTexts.map((t) => t.length));
  let cells = Math.min(totalDays, room - labelWidth - 1 - 2 - flagWidth);
  const flagsBelow = cells < Math.min(totalDays, MIN_CELLS);
  if (flagsBelow) cells = Math.max(1, Math.min(totalDays, room - labelWidth - 1));

  const shown = participants[0]!.days.slice(totalDays - cells);
  const lines: string[] = [];
  lines.push(
    c.bold(`Completeness ${report.from} to ${report.to}`) + (cells < totalDays ? ` (the last ${cells} of ${totalDays} days fit this terminal)` : ''),
  );
  lines.push(' '.repeat(labelWidth + 1) + axis(shown.map((d) => d.day), cells));
  participants.forEach((p, i) => {
    const label = fit(p.label, labelWidth).padEnd(labelWidth);
    const strip = paintRuns(
      c,
      p.days.slice(totalDays - cells).map((d) => ({ state: d.state, glyph: d.flags.includes('no_data_2d') ? '!' : CELLS[d.state].glyph })),
    );
    const flags = p.flags.length === 0 ? c.green(flagTexts[i]!) : c.red(flagTexts[i]!);
    if (flagsBelow) {
      lines.push(`${label} ${strip}`);
      lines.push(`${' '.repeat(labelWidth + 1)}${flags}`);
    } else {
      lines.push(`${label} ${strip}  ${flags}`);
    }
  });
  lines.push('');
  const states: DayState[] = ['complete', 'partial', 'none', 'not_enrolled'];
  lines.push(
    states.map((s) => `${CELLS[s].paint(c, CELLS[s].glyph)} ${CELLS[s].legend}`).join('  ') + `  ${c.red('!')} no_data_2d`,
  );
  // How the data came: what a study learns of its sender's reliability (issue #17).
  if (participants.some((p) => p.arrivals.documents > 0)) {
    lines.push('', 'How the documents of these days arrived:');
    for (const p of participants) lines.push(...wrap(`${fit(p.label, labelWidth).padEnd(labelWidth)}  ${arrivalText(p)}`, room, ' '.repeat(labelWidth + 2)));
  }
  // Why: a reason shared by several participants (an expiring subscription) is said once.
  const byReason = new Map<string, string[]>();
  for (const p of participants) {
    for (const [flag, why] of Object.entries(p.reasons)) {
      const key = `${flag}: ${why}`;
      byReason.set(key, [...(byReason.get(key) ?? []), p.label]);
    }
  }
  if (byReason.size > 0) lines.push('');
  for (const [reason, labels] of byReason) {
    const [flag, ...rest] = reason.split(': ');
    lines.push(...wrap(`${labels.join(', ')} ${flag}: ${rest.join(': ')}`, room, '    '));
  }
  return lines;
}

/** The cells, each run of one state painted once. */
function paintRuns(c: ChalkInstance, cells: { state: DayState; glyph: string }[]): string {
  let out = '';
  for (let i = 0; i < cells.length; ) {
    let j = i;
    while (j < cells.length && cells[j]!.state === cells[i]!.state) j++;
    out += CELLS[cells[i]!.state].paint(c, cells.slice(i, j).map((cell) => cell.glyph).join(''));
    i = j;
  }
  return out;
}

/** Words onto lines of at most `width` characters, continuation lines indented. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > width && line.trim() !== '') {
      lines.push(line);
      line = indent + word;
    } else {
      line = candidate;
    }
  }
  if (line.trim() !== '') lines.push(line);
  return lines;
}

/** "71 by webhook, 6 only by reconciliation (webhook share 92.2%)", the counts that are not zero. */
function arrivalText(p: ParticipantReport): string {
  const a = p.arrivals;
  if (a.documents === 0) return 'none';
  const parts = [
    a.webhook ? `${a.webhook} by webhook` : '',
    a.reconciliation ? `${a.reconciliation} only by reconciliation` : '',
    a.sync ? `${a.sync} only by sync` : '',
  ].filter(Boolean);
  return parts.join(', ') + (a.webhook_share !== null && a.reconciliation > 0 ? ` (webhook share ${percent(a.webhook_share)})` : '');
}

function flagText(p: ParticipantReport): string {
  return p.flags.length === 0 ? 'ok' : p.flags.join(' ');
}

/** The first and last day shown, at the two ends of the strip (MM-DD, the year is in the title). */
function axis(days: string[], width: number): string {
  const first = days[0]?.slice(5) ?? '';
  const last = days[days.length - 1]?.slice(5) ?? '';
  if (width < first.length + last.length + 1) return last.padStart(width).slice(-width);
  return first + last.padStart(width - first.length);
}

function fit(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

