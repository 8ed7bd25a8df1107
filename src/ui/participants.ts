import { listParticipantViewsOp } from '../participants/core.js';
import { computeReport, localToday } from '../report/core.js';
import { CredentialStore } from '../credentials/token-store.js';
import type { ConsoleContext } from './context.js';
import { addDays, isDay } from './days.js';
import { participantsPage } from './heatmap.js';
import type { ChartSubject } from './participant.js';

/** The participants of the study: the report's heatmap, and whom a participant's page is about. */

export async function consoleParticipant(ctx: ConsoleContext, label: string): Promise<ChartSubject | undefined> {
  const p = (await ctx.store.read(listParticipantViewsOp)).find((v) => v.label === label);
  return p && { label: p.label, tz: p.tz, accounts: p.accounts.map((a) => ({ provider: a.provider, user_id: a.user_id })) };
}

/** Days the heatmap shows unless asked otherwise, as `wearhook report` does. */
const DEFAULT_DAYS = 28;

export async function participantsReportPage(ctx: ConsoleContext, params: URLSearchParams, now = new Date()): Promise<string> {
  const to = isDay(params.get('to')) ? params.get('to')! : localToday(now, null);
  const asked = params.get('from');
  const from = isDay(asked) && asked <= to ? asked : addDays(to, -(DEFAULT_DAYS - 1));
  let withTokens: Set<string> | undefined;
  try {
    withTokens = new Set(new CredentialStore().list('oura'));
  } catch {
    withTokens = undefined; // an unreadable credential file is `wearhook auth list`'s to report
  }
  const report = await computeReport(ctx.store, { from, to, now, ouraUsersWithTokens: withTokens });
  return participantsPage(ctx, report);
}
