import { PROVIDER_NAMES, type ProviderName, type Work } from '../providers/types.js';
import { DELIVERY_STATUSES, STATUS_MEANING, getDeliveryOp, headerPairs, type DeliveryRow, type HeaderPairs } from '../store/deliveries.js';
import { searchDeliveriesOp, type DeliveryListRow, type DeliverySearch } from '../store/console.js';
import { getDocumentOp, type StoredDocument } from '../store/documents.js';
import { attemptAnswer, describeVersion, outboxState, outboxView, redactHeaders } from '../receiver/delivery-log.js';
import { outboxOfDeliveryOp, type OutboxEntry, type OutboxStatus } from '../store/outbox.js';
import { versionsFromDeliveryOp, type DeliveredVersion } from '../store/document-versions.js';
import type { Op } from '../store/sql.js';
import { errorMessage } from '../errors.js';
import type { ConsoleContext } from './context.js';
import { modeLabel } from './context.js';
import { between, bytes, duration, localTime } from './format.js';
import { html, page, query, type SafeHtml } from './html.js';

/** The deliveries pages: the live list with its filters, and one delivery in full. */

export const PAGE_SIZE = 200;

/** The list's filters, from a query string. */
export function searchFrom(params: URLSearchParams): DeliverySearch {
  const provider = params.get('provider') ?? '';
  const status = params.get('status') ?? '';
  const before = Number(params.get('before'));
  return {
    provider: (PROVIDER_NAMES as readonly string[]).includes(provider) ? provider : undefined,
    status: (DELIVERY_STATUSES as readonly string[]).includes(status) ? status : undefined,
    event: params.get('event')?.trim() || undefined,
    text: params.get('q')?.trim() || undefined,
    beforeId: Number.isInteger(before) && before > 0 ? before : undefined,
  };
}

function searchQuery(search: DeliverySearch, extra: Record<string, string | number | undefined> = {}): string {
  return query({ provider: search.provider, status: search.status, event: search.event, q: search.text, ...extra });
}

function statusBadge(status: string): SafeHtml {
  return html`<span class="status ${status}" title="${STATUS_MEANING[status as keyof typeof STATUS_MEANING] ?? ''}">${status}</span>`;
}

/** One row of the list; the live view sends the same HTML when a row appears or changes. */
export function deliveryRow(ctx: ConsoleContext, row: DeliveryListRow): SafeHtml {
  const answered = ctx.live?.latency(row.id);
  const done = row.processed_at ? between(row.received_at, row.processed_at) : null;
  return html`<tr id="d-${row.id}" data-id="${row.id}" data-status="${row.status}">
<td><a href="deliveries/${row.id}">#${row.id}</a></td>
<td><time datetime="${row.received_at}">${localTime(row.received_at)}</time></td>
<td>${row.provider}</td>
<td class="event">${row.event_type ?? '-'}</td>
<td class="user">${row.user_id ?? '-'}</td>
<td>${statusBadge(row.status)}${row.attempts > 1 ? html` <small>${row.attempts} attempts</small>` : ''}</td>
<td class="num" title="from arrival to wearhook's answer (known for deliveries this listen --ui run received)">${answered === undefined ? '' : duration(answered)}</td>
<td class="num" title="from arrival to its documents or samples being stored">${done === null ? '' : duration(done)}</td>
<td class="error">${row.error ?? ''}</td>
</tr>`;
}

export async function deliveriesPage(ctx: ConsoleContext, search: DeliverySearch): Promise<string> {
  const rows = await ctx.store.read(searchDeliveriesOp, { ...search, limit: PAGE_SIZE });
  const filtered = Boolean(search.provider || search.status || search.event || search.text);
  const option = (value: string, selected: string | undefined, label = value) =>
    html`<option value="${value}" ${value === (selected ?? '') ? html`selected` : ''}>${label}</option>`;
  const oldest = rows.at(-1)?.id;
  const body = html`
<h1>Deliveries</h1>
<form id="filters" class="filters" method="get" action="deliveries">
  <select name="provider" aria-label="provider">${option('', search.provider, 'every provider')}${PROVIDER_NAMES.map((p) => option(p, search.provider))}</select>
  <select name="status" aria-label="status">${option('', search.status, 'every status')}${DELIVERY_STATUSES.map((s) => option(s, search.status))}</select>
  <input name="event" value="${search.event ?? ''}" placeholder="event, e.g. sleep.* or *.created" aria-label="event">
  <input name="q" type="search" value="${search.text ?? ''}" placeholder="text in body, user, id, error" aria-label="text">
  <button type="submit">Filter</button>
  ${filtered ? html`<a href="deliveries">clear</a>` : ''}
</form>
<table id="deliveries" class="deliveries" data-stream="events${searchQuery(search)}" data-insert="${search.beforeId === undefined ? '1' : ''}">
<thead><tr><th>id</th><th>received</th><th>provider</th><th>event</th><th>user</th><th>status</th><th class="num">answered in</th><th class="num">done in</th><th>error</th></tr></thead>
<tbody>${rows.map((row) => deliveryRow(ctx, row))}</tbody>
</table>
<p class="empty" id="no-deliveries" ${rows.length ? html`hidden` : ''}>${
    filtered
      ? 'No delivery matches these filters.'
      : html`No deliveries yet. New ones appear here as they are stored. Try <code>wearhook trigger vital --to ${ctx.live?.receiverUrl ?? 'http://127.0.0.1:8787'}</code>.`
  }</p>
${rows.length === PAGE_SIZE && oldest !== undefined ? html`<p><a href="deliveries${searchQuery(search, { before: oldest })}">older deliveries</a></p>` : ''}
${ctx.live ? rejectedSection(ctx) : ''}`;
  return page({ title: 'Deliveries', section: 'deliveries', base: ctx.base, body, mode: modeLabel(ctx) });
}

/** Requests this run refused: never stored, so only a live console can show them. */
export function rejectedSection(ctx: ConsoleContext): SafeHtml {
  const refused = ctx.live?.rejected() ?? [];
  return html`<section id="rejected" class="rejected">
<h2>Refused requests <small>(not stored; this run only)</small></h2>
${
  refused.length === 0
    ? html`<p class="empty">None so far.</p>`
    : html`<table><thead><tr><th>received</th><th>request</th><th>answer</th><th>reason</th></tr></thead><tbody>${refused.map(
        (r) =>
          html`<tr><td>${localTime(r.received_at)}</td><td>${r.method} ${r.path}</td><td><span class="status failed">${r.http_status}</span></td><td>${r.reason}</td></tr>`,
      )}</tbody></table>`
}
</section>`;
}

interface VerificationFacts {
  scheme: string;
  signedAt?: string;
  skewS?: number;
  detail?: string;
}

function headerValue(pairs: HeaderPairs, name: string): string | undefined {
  return pairs.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** How the delivery proved its sender: the scheme, the signed time and how far it was from arrival. */
function verificationFacts(row: DeliveryRow, pairs: HeaderPairs): VerificationFacts {
  const signedTime = (seconds: string | undefined): Pick<VerificationFacts, 'signedAt' | 'skewS'> => {
    if (!seconds || !/^\d{1,12}$/.test(seconds)) return {};
    const ms = Number(seconds) * 1000;
    return { signedAt: new Date(ms).toISOString(), skewS: Math.round((Date.parse(row.received_at) - ms) / 1000) };
  };
  if (row.provider === 'oura') {
    return { scheme: 'Oura: HMAC-SHA256 of x-oura-timestamp and the body, keyed by the client secret', ...signedTime(headerValue(pairs, 'x-oura-timestamp')) };
  }
  if (row.provider === 'corsano') return { scheme: 'Corsano (experimental): HMAC-SHA256 of the body with the shared secret' };
  for (const brand of ['webhook', 'svix']) {
    const signature = headerValue(pairs, `${brand}-signature`);
    if (signature) {
      const versions = signature.split(' ').filter(Boolean).map((s) => s.split(',')[0]);
      return {
        scheme: `Standard Webhooks (${brand}-* headers): HMAC-SHA256 of id, timestamp and body`,
        detail: `${versions.length} signature${versions.length === 1 ? '' : 's'} (${versions.join(', ')}), id ${headerValue(pairs, `${brand}-id`) ?? '?'}`,
        ...signedTime(headerValue(pairs, `${brand}-timestamp`)),
      };
    }
  }
  return { scheme: row.provider };
}

function verificationSection(row: DeliveryRow, pairs: HeaderPairs): SafeHtml {
  const v = verificationFacts(row, pairs);
  return html`<section class="verification">
<h2>Verification</h2>
<dl>
<dt>result</dt><dd><span class="status processed">${row.verified ? 'signature valid' : 'not verified'}</span> ${row.verified ? 'checked over the exact bytes before it was stored' : ''}</dd>
<dt>scheme</dt><dd>${v.scheme}</dd>
${v.detail ? html`<dt>signature</dt><dd>${v.detail}</dd>` : ''}
${v.signedAt ? html`<dt>signed at</dt><dd>${localTime(v.signedAt)} (${v.skewS} s before it arrived; 300 s either way are accepted)</dd>` : ''}
</dl>
</section>`;
}

function payloadOf(row: DeliveryRow): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(row.body)) };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

/** What the delivery asks of the store, or why it cannot be told. */
function workOf(ctx: ConsoleContext, row: DeliveryRow): { work?: Work; problem?: string } {
  const payload = payloadOf(row);
  const provider = ctx.providers.get(row.provider as ProviderName);
  if (!payload.ok) return { problem: `the body is not JSON: ${payload.error}` };
  if (!provider) return { problem: `no provider "${row.provider}"` };
  try {
    return { work: provider.work(payload.value) };
  } catch (err) {
    return { problem: errorMessage(err) };
  }
}

/** What the live part of a delivery's page shows from the store, read in one operation. */
interface DeliveryFacts {
  /** The versions this delivery brought (issue "every version kept"), and where each stands now. */
  versions: DeliveredVersion[];
  /** The documents its work names, as stored now, by `provider type id`. */
  documents: Map<string, StoredDocument | undefined>;
  outbox: OutboxEntry[];
}

const docKey = (provider: string, type: string, id: string) => `${provider}\u0000${type}\u0000${id}`;

function* deliveryFactsOp(row: DeliveryRow, work: Work | undefined): Op<DeliveryFacts> {
  const versions = yield* versionsFromDeliveryOp(row.id);
  const documents = new Map<string, StoredDocument | undefined>();
  const named =
    work === undefined ? [] : work.kind === 'fetch-oura' ? [{ provider: 'oura', type: work.dataType, id: work.objectId }] : [...work.documents, ...work.deletions];
  for (const d of named) {
    const key = docKey(d.provider, d.type, d.id);
    if (!documents.has(key)) documents.set(key, yield* getDocumentOp(d.provider, d.type, d.id));
  }
  return { versions, documents, outbox: yield* outboxOfDeliveryOp(row.id) };
}

/** What the delivery asked of the store, and whether the store holds it now. */
function workSection(row: DeliveryRow, { work, problem }: ReturnType<typeof workOf>, facts: DeliveryFacts): SafeHtml {
  const stored = (providerName: string, type: string, id: string) => {
    const brought = facts.versions.find((v) => v.provider === providerName && v.type === type && v.id === id);
    const doc = facts.documents.get(docKey(providerName, type, id));
    if (doc?.deleted) return html`<span class="status failed">marked deleted</span>`;
    if (brought) return html`<span class="status ${brought.arrived_older ? 'pending' : 'processed'}">stored</span> <small>${describeVersion(brought)}</small>`;
    if (!doc) return html`<span class="status pending">not stored</span>`;
    return html`<span class="status processed">stored</span> <small>by another delivery or a sync</small>`;
  };
  let items: SafeHtml;
  if (!work) items = html`<p class="error">${problem ?? ''}</p>`;
  else if (work.kind === 'fetch-oura') {
    items = html`<p>An Oura notification: wearhook fetches <code>${work.dataType}</code> document <code>${work.objectId}</code> with user ${work.userId}'s token.</p>
<dl><dt>fetch attempts</dt><dd>${row.attempts}${row.next_attempt_at && row.status === 'pending' ? html`, next at ${localTime(row.next_attempt_at)}` : ''}</dd>
<dt>document</dt><dd>${stored('oura', work.dataType, work.objectId)}</dd></dl>`;
  } else {
    const series = new Map<string, { count: number; from: string; to: string }>();
    for (const s of work.samples) {
      const entry = series.get(s.seriesType) ?? { count: 0, from: s.timestamp, to: s.timestamp };
      entry.count++;
      if (Date.parse(s.timestamp) < Date.parse(entry.from)) entry.from = s.timestamp;
      if (Date.parse(s.timestamp) > Date.parse(entry.to)) entry.to = s.timestamp;
      series.set(s.seriesType, entry);
    }
    items = html`
<table class="work"><thead><tr><th>written</th><th>what</th><th>day</th><th>in the store now</th></tr></thead><tbody>
${work.documents.map((d) => html`<tr><td>document</td><td>${d.provider} ${d.type} <code>${d.id}</code></td><td>${d.day ?? ''}</td><td>${stored(d.provider, d.type, d.id)}</td></tr>`)}
${[...series].map(([type, s]) => html`<tr><td>${s.count} sample${s.count === 1 ? '' : 's'}</td><td>${type}</td><td>${s.from.slice(0, 10)}${s.to.slice(0, 10) !== s.from.slice(0, 10) ? ` to ${s.to.slice(0, 10)}` : ''}</td><td>${row.status === 'processed' ? 'stored' : ''}</td></tr>`)}
${work.deletions.map((d) => html`<tr><td>deletion</td><td>${d.provider} ${d.type} <code>${d.id}</code></td><td></td><td>${stored(d.provider, d.type, d.id)}</td></tr>`)}
</tbody></table>
${work.documents.length + work.samples.length + work.deletions.length === 0 ? html`<p class="empty">This delivery carries no data to store.</p>` : ''}`;
  }
  return html`<section class="work"><h2>Work done</h2>${items}</section>`;
}

const OUTBOX_BADGE: Record<OutboxStatus, string> = { done: 'processed', pending: 'pending', failed: 'failed' };

/**
 * The forwards (`listen --forward-to`) and hooks (`--exec`) of this delivery, from the outbox:
 * whichever process ran them, with every attempt and what it got.
 */
function outboxSection(entries: OutboxEntry[]): SafeHtml {
  return html`<section class="outbox" id="outbox"><h2>Forwards and hooks</h2>${
    entries.length === 0
      ? html`<p class="empty">None: no <code>listen --forward-to</code> or <code>--exec</code> target took this delivery.</p>`
      : html`<table><thead><tr><th>kind</th><th>target</th><th>state</th><th>attempts</th></tr></thead><tbody>${entries.map((entry) => {
          const o = outboxView(entry);
          return html`<tr data-kind="${entry.kind}" data-status="${o.status}">
<td>${entry.kind}</td>
<td><code>${o.target}</code>${o.filter ? html` <small>(${o.filter})</small>` : ''}</td>
<td><span class="status ${OUTBOX_BADGE[o.status]}" title="${o.status}">${outboxState(o, entry.kind)}</span>${o.status !== 'done' && o.last_error ? html`<div class="error">${o.last_error}</div>` : ''}</td>
<td><ol class="attempts">${o.attempt_log.map(
            (a) =>
              html`<li><time datetime="${a.at}">${localTime(a.at)}</time> ${attemptAnswer(entry.kind, a)} <small>(${duration(a.duration_ms)})</small>${a.error ? html` <span class="error">${a.error}</span>` : ''}${a.output ? html`<pre class="output">${a.output}</pre>` : ''}</li>`,
          )}</ol></td>
</tr>`;
        })}</tbody></table>`
  }</section>`;
}

/** The part of a delivery's page that changes while its work runs; the live view replaces it. */
export async function deliveryLive(ctx: ConsoleContext, row: DeliveryRow): Promise<SafeHtml> {
  const work = workOf(ctx, row);
  const facts = await ctx.store.read(deliveryFactsOp, row, work.work);
  const answered = ctx.live?.latency(row.id);
  return html`<div id="delivery-live" data-status="${row.status}">
<dl class="facts">
<dt>status</dt><dd>${statusBadge(row.status)} ${row.attempts} attempt${row.attempts === 1 ? '' : 's'}${row.processed_at ? html` · done ${localTime(row.processed_at)} (${duration(between(row.received_at, row.processed_at))} after arrival)` : ''}</dd>
${row.error ? html`<dt>error</dt><dd class="error">${row.error}</dd>` : ''}
${answered === undefined ? '' : html`<dt>answered in</dt><dd>${duration(answered)}</dd>`}
</dl>
${workSection(row, work, facts)}
${outboxSection(facts.outbox)}
</div>`;
}

function prettyBody(row: DeliveryRow): { text: string; note: string } {
  const payload = payloadOf(row);
  if (!payload.ok) return { text: row.body.toString('base64'), note: 'not UTF-8 JSON, shown as base64' };
  try {
    return { text: JSON.stringify(payload.value, null, 2), note: 'JSON, pretty-printed' };
  } catch {
    return { text: row.body.toString('utf8'), note: 'as received' };
  }
}

/** Where a replay goes unless the user types another URL: this run's receiver, or the default one. */
export function defaultReplayUrl(ctx: ConsoleContext, row: Pick<DeliveryRow, 'path'>): string {
  const base = ctx.live?.receiverUrl ?? 'http://127.0.0.1:8787';
  return `${base}${new URL(row.path, 'http://x').pathname}`;
}

export async function deliveryPage(ctx: ConsoleContext, id: number): Promise<string | undefined> {
  const row = await ctx.store.read(getDeliveryOp, id);
  if (!row) return undefined;
  const pairs = headerPairs(row);
  const body = prettyBody(row);
  const content = html`
<p class="crumbs"><a href="deliveries">Deliveries</a> / #${row.id}</p>
<h1>#${row.id} <span class="provider">${row.provider}</span> ${row.event_type ?? ''}</h1>
<div class="detail" data-stream="events${query({ id: row.id })}" data-delivery="${row.id}">
<dl class="facts">
<dt>received</dt><dd><time datetime="${row.received_at}">${localTime(row.received_at)}</time> · ${row.method} ${row.path} · ${bytes(row.body.length)}</dd>
<dt>user</dt><dd>${row.user_id ?? '-'}</dd>
<dt>dedupe key</dt><dd><code>${row.dedupe_key}</code></dd>
</dl>
${await deliveryLive(ctx, row)}
${verificationSection(row, pairs)}
<section class="replay">
<h2>Replay</h2>
<form id="replay-form" method="post" action="deliveries/${row.id}/replay" data-receiver="${ctx.live?.receiverUrl ?? ''}">
  <input name="url" type="url" required value="${defaultReplayUrl(ctx, row)}" aria-label="replay to URL" size="48">
  <label><input type="radio" name="mode" value="resign" checked> re-signed <small>(a fresh id and timestamp, signed now with this provider's configured secret)</small></label>
  <label><input type="radio" name="mode" value="exact"> byte-exact <small>(the original headers and signature: refused by a receiver with a 5-minute window once older)</small></label>
  <button type="submit">Replay</button>
</form>
<div id="replay-result" class="replay-result" aria-live="polite"></div>
</section>
<section class="headers">
<h2>Headers <small>(credentials shown as their first 4 characters)</small></h2>
<table><tbody>${redactHeaders(pairs).map(([name, value]) => html`<tr><th>${name}</th><td><code>${value}</code></td></tr>`)}</tbody></table>
</section>
<section class="body">
<h2>Body <small>(${body.note}, ${bytes(row.body.length)})</small></h2>
<pre id="body"><code>${body.text}</code></pre>
</section>
</div>`;
  return page({ title: `#${row.id} ${row.event_type ?? row.provider}`, section: 'deliveries', base: ctx.base, body: content, mode: modeLabel(ctx) });
}
