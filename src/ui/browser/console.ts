/**
 * The console's script: live updates over server-sent events (the server renders every piece
 * of HTML it sends, so the page and its updates look alike), the filters, and the Replay form.
 * Charts live in charts.ts, loaded by the participant page only.
 */

const live = document.getElementById('live');

function stream(url: string, handlers: Record<string, (data: any) => void>): void {
  const source = new EventSource(url);
  let opened = false;
  source.onopen = () => {
    // Back after a break: what changed meanwhile was not sent, so show the page as it is now.
    if (opened) location.reload();
    opened = true;
    live?.classList.add('on');
    live?.setAttribute('title', 'live: updates arrive as they are stored');
  };
  source.onerror = () => {
    live?.classList.remove('on');
    live?.setAttribute(
      'title',
      source.readyState === EventSource.CLOSED ? 'the console stopped: open the URL wearhook prints when it starts again' : 'reconnecting...',
    );
  };
  for (const [event, handle] of Object.entries(handlers)) {
    source.addEventListener(event, (message) => handle(JSON.parse((message as MessageEvent<string>).data)));
  }
}

function fragment(text: string): Element {
  const template = document.createElement('template');
  template.innerHTML = text.trim();
  return template.content.firstElementChild!;
}

/** The delivery list: rows appear, change and leave as the server says. */
function deliveriesList(table: HTMLTableElement): void {
  const body = table.tBodies[0]!;
  const mayInsert = table.dataset.insert === '1';
  const empty = document.getElementById('no-deliveries');
  stream(table.dataset.stream!, {
    delivery: ({ id, row }: { id: number; row: string | null }) => {
      const existing = document.getElementById(`d-${id}`);
      if (row === null) {
        existing?.remove();
      } else if (existing) {
        existing.replaceWith(fragment(row));
      } else if (mayInsert) {
        const element = fragment(row);
        element.classList.add('fresh');
        const after = [...body.rows].find((r) => Number(r.dataset.id) < id);
        body.insertBefore(element, after ?? null);
      }
      if (empty) empty.hidden = body.rows.length > 0;
    },
    rejected: ({ html }: { html: string }) => document.getElementById('rejected')?.replaceWith(fragment(html)),
  });
  // A row opens its delivery (the id cell is the link for keyboards).
  body.addEventListener('click', (event) => {
    const target = event.target as HTMLElement;
    if (target.closest('a')) return;
    const row = target.closest('tr');
    if (row?.dataset.id) location.href = `deliveries/${row.dataset.id}`;
  });
  const filters = document.getElementById('filters') as HTMLFormElement | null;
  filters?.querySelectorAll('select').forEach((select) => select.addEventListener('change', () => filters.requestSubmit()));
}

/** One delivery: its status and work update in place; Replay sends it again. */
function deliveryDetail(detail: HTMLElement): void {
  stream(detail.dataset.stream!, {
    detail: ({ html }: { html: string }) => document.getElementById('delivery-live')?.replaceWith(fragment(html)),
  });
  const form = document.getElementById('replay-form') as HTMLFormElement | null;
  const result = document.getElementById('replay-result')!;
  form?.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector('button')!;
    button.disabled = true;
    result.textContent = 'sending...';
    try {
      const res = await fetch(form.action, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: data.get('url'), mode: data.get('mode') }),
      });
      const answer = await res.json();
      showReplay(result, answer, form.dataset.receiver || undefined);
    } catch (err) {
      result.textContent = `The replay could not be sent: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  });
}

interface ReplayAnswer {
  url?: string;
  resigned?: boolean;
  http_status?: number | null;
  latency_ms?: number;
  response?: string | null;
  response_truncated?: boolean;
  error?: string;
}

/** The target's status and answer; when the target is this run's receiver, a link to the delivery it stored. */
function showReplay(result: HTMLElement, answer: ReplayAnswer, receiver: string | undefined): void {
  result.replaceChildren();
  const line = document.createElement('p');
  const status = document.createElement('span');
  const ok = typeof answer.http_status === 'number' && answer.http_status >= 200 && answer.http_status < 300;
  status.className = `status ${ok ? 'processed' : 'failed'}`;
  status.textContent = answer.http_status == null ? 'not sent' : String(answer.http_status);
  line.append(status, ` ${answer.resigned ? 're-signed' : 'byte-exact'} replay to ${answer.url ?? ''}`);
  if (answer.latency_ms !== undefined) line.append(` in ${answer.latency_ms} ms`);
  if (answer.error) line.append(`: ${answer.error}`);
  let stored: { ok?: boolean; id?: number; duplicate?: boolean } | undefined;
  try {
    stored = answer.response ? JSON.parse(answer.response) : undefined;
  } catch {
    stored = undefined;
  }
  if (ok && receiver && answer.url?.startsWith(receiver) && typeof stored?.id === 'number') {
    const link = document.createElement('a');
    link.href = `deliveries/${stored.id}`;
    link.id = 'replayed-delivery';
    link.textContent = `#${stored.id}`;
    line.append(stored.duplicate ? ' (a duplicate of ' : ', stored as ', link, stored.duplicate ? ')' : '');
  }
  result.append(line);
  if (answer.response) {
    const pre = document.createElement('pre');
    pre.textContent = answer.response + (answer.response_truncated ? '\n[...]' : '');
    result.append(pre);
  }
  result.dataset.status = String(answer.http_status ?? '');
}

function tunnel(holder: HTMLElement): void {
  stream(holder.dataset.stream!, {
    tunnel: ({ html }: { html: string }) => document.getElementById('tunnel')?.replaceWith(fragment(html)),
  });
}

const table = document.getElementById('deliveries') as HTMLTableElement | null;
if (table) deliveriesList(table);
const detail = document.querySelector<HTMLElement>('.detail[data-delivery]');
if (detail) deliveryDetail(detail);
const tunnelHolder = document.querySelector<HTMLElement>('[data-stream^="events?view=tunnel"]');
if (tunnelHolder) tunnel(tunnelHolder);
