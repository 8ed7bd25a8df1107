import type { Report } from '../report/core.js';
import type { ConsoleContext } from './context.js';
import { modeLabel } from './context.js';
import { daysBetween } from './days.js';
import { html, page, type SafeHtml } from './html.js';
import { participantLink } from './participant.js';

/**
 * The study's completeness as one picture: participants down, days across, one cell per
 * participant and day coloured by how many of sleep, readiness and activity arrived, outlined
 * when the report raised a flag that day. The numbers are the report's (`wearhook report`).
 */

type ParticipantReport = Report['participants'][number];
type CompletenessDay = ParticipantReport['days'][number];

const FLAG_WORDS: Record<string, string> = {
  no_data_2d: 'no data for 2 days',
  needs_reauth: 'needs to log in to Oura again',
  subscription_expiring: 'a subscription expires soon',
  outside_enrolment: 'outside the enrolment window',
};

function arrived(row: CompletenessDay): string[] {
  return (['sleep', 'readiness', 'activity'] as const).filter((k) => row[k]);
}

function cell(row: CompletenessDay | undefined, participant: string, day: string, range: { from: string; to: string }): SafeHtml {
  if (!row || row.state === 'future') return html`<td class="cell" data-participant="${participant}" data-day="${day}" data-arrived="" data-flags="" title="${day}"></td>`;
  const got = arrived(row);
  const outside = row.state === 'not_enrolled' || row.flags.includes('outside_enrolment');
  const flags = row.flags.filter((f) => f !== 'outside_enrolment');
  const title = [
    `${participant} ${day}: ${got.length ? got.join(', ') : 'nothing'}`,
    row.hrv_minutes ? `${row.hrv_minutes} min of HRV` : '',
    row.wear_s !== null && row.wear_s !== undefined ? `worn ${Math.round(row.wear_s / 360) / 10} h` : '',
    row.documents_by_reconciliation ? `${row.documents_by_reconciliation} found only by reconciliation` : '',
    ...row.flags.map((f) => FLAG_WORDS[f] ?? f),
  ].filter(Boolean);
  return html`<td class="cell c${got.length}${flags.length ? ' flagged' : ''}${outside ? ' outside' : ''}" data-participant="${participant}" data-day="${day}" data-arrived="${got.join(',')}" data-flags="${row.flags.join(',')}" title="${title.join(' · ')}"><a href="${participantLink(participant, range)}&amp;night=${day}" aria-label="${title.join(', ')}"></a></td>`;
}

export function heatmapSection(report: Report): SafeHtml {
  const range = { from: report.from, to: report.to };
  const days = daysBetween(range.from, range.to);
  const byKey = new Map(report.participants.flatMap((p) => p.days.map((d) => [`${p.label}\u0000${d.day}`, d] as const)));
  const participants = report.participants.map((p) => p.label);
  const reasons = new Map(report.participants.map((p) => [p.label, p]));
  const raised = (participant: string) => {
    const p = reasons.get(participant)!;
    return p.flags.map((f) => html`<span title="${p.reasons[f] ?? ''}">${FLAG_WORDS[f] ?? f}</span>`);
  };
  return html`<table id="heatmap" class="heatmap">
<thead><tr><th></th>${days.map((d, i) => html`<th title="${d}">${i === 0 || d.endsWith('-01') || i % 7 === 0 ? d.slice(5) : ''}</th>`)}<th></th></tr></thead>
<tbody>${participants.map(
    (p) => html`<tr data-participant="${p}"><th class="participant"><a href="${participantLink(p, range)}">${p}</a></th>${days.map((d) => cell(byKey.get(`${p}\u0000${d}`), p, d, range))}<td class="flags">${raised(p).map((f, i) => html`${i ? ' · ' : ''}${f}`)}</td></tr>`,
  )}</tbody>
</table>
<div class="legend">
<span><i class="c0"></i>nothing</span>
<span><i class="c1"></i>1 of sleep, readiness, activity</span>
<span><i class="c2"></i>2</span>
<span><i class="c3"></i>all 3</span>
<span><i class="c0 flagged"></i>flag raised (hover for why)</span>
<span><i class="outside"></i>outside enrolment</span>
</div>`;
}

export function participantsPage(ctx: ConsoleContext, report: Report): string {
  const range = { from: report.from, to: report.to };
  const body = html`<h1>Participants</h1>
<form method="get" class="filters" action="participants">
  <label>from <input type="date" name="from" value="${range.from}"></label>
  <label>to <input type="date" name="to" value="${range.to}"></label>
  <button type="submit">Show</button>
</form>
${
  report.participants.length === 0
    ? html`<p class="empty">No participants yet: <code>wearhook participants add P001 --tz Europe/Amsterdam</code>, then link their accounts.</p>`
    : heatmapSection(report)
}
<p class="empty">The same numbers as <code>wearhook report --from ${range.from} --to ${range.to}</code>. A click on a row or a day opens the participant's charts.</p>`;
  return page({ title: 'Participants', section: 'participants', base: ctx.base, body, mode: modeLabel(ctx) });
}
