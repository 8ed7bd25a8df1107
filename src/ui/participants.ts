import { listParticipantViews } from '../participants/core.js';
import type { ConsoleContext } from './context.js';
import { modeLabel } from './context.js';
import { html, page } from './html.js';
import type { ChartSubject } from './participant.js';
import { participantLink } from './participant.js';

/** The participants of the study, and the one page per participant. */

export function consoleParticipants(ctx: ConsoleContext): ChartSubject[] {
  return listParticipantViews(ctx.db).map((p) => ({ label: p.label, tz: p.tz, accounts: p.accounts.map((a) => ({ provider: a.provider, user_id: a.user_id })) }));
}

export function consoleParticipant(ctx: ConsoleContext, label: string): ChartSubject | undefined {
  return consoleParticipants(ctx).find((p) => p.label === label);
}

export function participantsPage(ctx: ConsoleContext): string {
  const list = consoleParticipants(ctx);
  const body = html`<h1>Participants</h1>
${list.length === 0 ? html`<p class="empty">No participants yet.</p>` : html`<ul>${list.map((p) => html`<li><a href="${participantLink(p.label)}">${p.label}</a></li>`)}</ul>`}`;
  return page({ title: 'Participants', section: 'participants', base: ctx.base, body, mode: modeLabel(ctx) });
}
