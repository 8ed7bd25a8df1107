import Table from 'cli-table3';
import type { ChalkInstance } from 'chalk';
import { safeText } from '../cli/safe-text.js';
import type { CreateOutcome, DeleteOutcome, RenewOutcome, SubscriptionView } from './core.js';

/** How subscriptions and the outcomes of `subs` commands look on a terminal and in `--json`. */

/** `89d 23h`, `5h 3m`, `12m`, `40s`: the two largest units are enough to plan a renewal. */
export function formatSpan(seconds: number): string {
  const s = Math.abs(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return `${m}m`;
  return `${Math.floor(s)}s`;
}

/** Expired ones say so in red, those expiring within 7 days are yellow. */
export function expiresIn(sub: SubscriptionView, color: ChalkInstance): string {
  if (sub.expires_in_s === null) return color.dim('unknown');
  if (sub.expired) return color.red(`EXPIRED ${formatSpan(sub.expires_in_s)} ago`);
  const text = formatSpan(sub.expires_in_s);
  return sub.expiring_soon ? color.yellow(`${text} (renew soon)`) : text;
}

/** `expires in 89d 23h` or `expired 2d ago`, for result lines. */
export function expiryPhrase(sub: SubscriptionView, color: ChalkInstance): string {
  if (sub.expires_in_s === null) return 'expiry unknown';
  if (sub.expired) return color.red(`expired ${formatSpan(sub.expires_in_s)} ago`);
  const text = `expires in ${formatSpan(sub.expires_in_s)}`;
  return sub.expiring_soon ? color.yellow(text) : text;
}

export function subscriptionsTable(subs: readonly SubscriptionView[], color: ChalkInstance): string {
  const table = new Table({
    head: ['ID', 'DATA TYPE', 'EVENT TYPE', 'CALLBACK URL', 'EXPIRES IN'].map((h) => color.bold(h)),
    // cli-table3 colours by itself; colour is ours to decide (NO_COLOR, --no-color, not a TTY).
    style: { head: [], border: [] },
  });
  for (const s of subs) table.push([safeText(s.id), safeText(s.data_type), safeText(s.event_type), safeText(s.callback_url), expiresIn(s, color)]);
  return table.toString();
}

/** `--json` of `subs create`: one object per (event type, data type) pair. */
export function createOutcomeJson(o: CreateOutcome): Record<string, unknown> {
  if (o.status === 'failed') return { status: 'failed', event_type: o.event_type, data_type: o.data_type, error: o.error.message };
  return { status: o.status, ...o.subscription };
}

export function renewOutcomeJson(o: RenewOutcome): Record<string, unknown> {
  if (o.status === 'failed') return { status: 'failed', id: o.id, error: o.error.message };
  return { status: 'renewed', ...o.subscription };
}

export function deleteOutcomeJson(o: DeleteOutcome): Record<string, unknown> {
  return o.status === 'failed' ? { status: 'failed', id: o.id, error: o.error.message } : { status: 'deleted', id: o.id };
}

export function createOutcomeLine(o: CreateOutcome, color: ChalkInstance): string {
  const pair = `${o.data_type}/${o.event_type}`;
  if (o.status === 'failed') return `${color.red('failed ')}  ${pair}: ${o.error.message}`;
  const label = o.status === 'created' ? color.green('created') : 'exists ';
  return `${label}  ${pair}  ${o.subscription.id}  ${expiryPhrase(o.subscription, color)}`;
}

export function renewOutcomeLine(o: RenewOutcome, color: ChalkInstance): string {
  if (o.status === 'failed') return `${color.red('failed ')}  ${o.id}: ${o.error.message}`;
  const s = o.subscription;
  return `${color.green('renewed')}  ${s.id}  ${s.data_type}/${s.event_type}  ${s.expiration_time ?? ''} (${expiryPhrase(s, color)})`;
}

export function deleteOutcomeLine(o: DeleteOutcome, color: ChalkInstance): string {
  return o.status === 'failed' ? `${color.red('failed ')}  ${o.id}: ${o.error.message}` : `${color.green('deleted')}  ${o.id}`;
}
