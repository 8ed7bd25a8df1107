import { listStoredSubscriptionsOp } from '../store/subscriptions.js';
import { subscriptionView } from '../subscriptions/core.js';
import { formatSpan } from '../subscriptions/render.js';
import type { ConsoleContext } from './context.js';
import { modeLabel } from './context.js';
import { duration, localTime } from './format.js';
import { html, page, type SafeHtml } from './html.js';

/** Oura subscriptions as the database last saw them, and the public side of a `listen --ui` run. */

export function tunnelSection(ctx: ConsoleContext): SafeHtml {
  const live = ctx.live;
  const tunnel = live?.tunnel();
  let content: SafeHtml;
  if (!live) {
    content = html`<p class="empty">This console reads the database as it is. The receiver's public URL and its health show when the console runs inside <code>wearhook listen --ui</code>.</p>`;
  } else if (!tunnel) {
    content = html`<dl class="facts"><dt>receiver</dt><dd>${live.receiverUrl}</dd><dt>public URL</dt><dd>none: this run has no tunnel (<code>--tunnel</code> or <code>--public-url</code> give one)</dd></dl>`;
  } else {
    const since = Date.now() - Date.parse(tunnel.since);
    content = html`<dl class="facts">
<dt>receiver</dt><dd>${live.receiverUrl}</dd>
<dt>public URL</dt><dd><code>${tunnel.publicUrl}</code> <small>(Oura: ${tunnel.publicUrl}/oura)</small></dd>
<dt>health</dt><dd><span class="status ${tunnel.state === 'up' ? 'processed' : 'failed'}">${tunnel.state === 'up' ? 'reaches this run' : 'DOWN'}</span> since ${localTime(tunnel.since)} (${duration(since)})${tunnel.reason ? html` · ${tunnel.reason}` : ''}</dd>
</dl>`;
  }
  return html`<section id="tunnel" class="tunnel"><h2>Public URL</h2>${content}</section>`;
}

export async function subscriptionsPage(ctx: ConsoleContext, now = new Date()): Promise<string> {
  const subs = (await ctx.store.read(listStoredSubscriptionsOp)).map((s) => ({ ...subscriptionView(s, now), updated_at: s.updated_at }));
  const body = html`
<h1>Subscriptions</h1>
<div data-stream="events?view=tunnel">${tunnelSection(ctx)}</div>
<section>
<h2>Oura webhook subscriptions <small>(as last listed by wearhook; <code>wearhook subs list</code> asks Oura again)</small></h2>
${
  subs.length === 0
    ? html`<p class="empty">No subscriptions stored. <code>wearhook subs create</code> or <code>wearhook listen --subscribe</code> make them.</p>`
    : html`<table id="subscriptions"><thead><tr><th>id</th><th>data type</th><th>event</th><th>callback URL</th><th>expires</th><th>left</th><th>made by wearhook</th></tr></thead><tbody>
${subs.map(
  (s) => html`<tr class="${s.expired ? 'expired' : s.expiring_soon ? 'expiring' : ''}">
<td><code>${s.id}</code></td><td>${s.data_type}</td><td>${s.event_type}</td><td>${s.callback_url}</td>
<td>${s.expiration_time ? localTime(s.expiration_time) : 'unknown'}</td>
<td>${
    s.expires_in_s === null
      ? ''
      : s.expired
        ? html`<span class="status failed">expired ${formatSpan(s.expires_in_s)} ago</span>`
        : s.expiring_soon
          ? html`<span class="status pending">${formatSpan(s.expires_in_s)} (renew soon)</span>`
          : formatSpan(s.expires_in_s)
  }</td>
<td>${s.created_by_wearhook ? 'yes' : 'no'}</td></tr>`,
)}</tbody></table>`
}
</section>`;
  return page({ title: 'Subscriptions', section: 'subscriptions', base: ctx.base, body, mode: modeLabel(ctx) });
}
