/**
 * HTML built by a tagged template that escapes every value it is given: a delivery's body, its
 * headers and its event name come from the internet, so nothing reaches a page unescaped unless
 * it is itself the output of `html`.
 */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** JSON for a `<script type="application/json">` block: `<` escaped so no string can close the element. */
export function jsonScript(id: string, value: unknown): SafeHtml {
  const text = JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return new SafeHtml(`<script type="application/json" id="${escapeHtml(id)}">${text}</script>`);
}

/** A query string of the non-empty values, for links that keep the current filters. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export type Section = 'deliveries' | 'participants' | 'subscriptions';

export interface PageOptions {
  title: string;
  section: Section;
  /** `/<token>/`: every link of a page is relative to it. */
  base: string;
  body: SafeHtml;
  /** Shown at the top right: where the receiver runs, or that the console reads the database as it is. */
  mode: string;
  /** Load uPlot too (the participant page). */
  charts?: boolean;
}

export function page(options: PageOptions): string {
  const nav = (section: Section, label: string) =>
    html`<a href="${section}" class="${options.section === section ? 'current' : ''}">${label}</a>`;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<base href="${options.base}">
<title>${options.title} · wearhook</title>
<link rel="stylesheet" href="assets/console.css">
${options.charts ? html`<link rel="stylesheet" href="assets/uPlot.min.css"><script src="assets/uPlot.iife.min.js" defer></script><script src="assets/charts.js" type="module"></script>` : ''}
<script src="assets/console.js" type="module"></script>
</head>
<body data-section="${options.section}">
<header>
  <strong class="brand">wearhook</strong>
  <nav>${nav('deliveries', 'Deliveries')}${nav('participants', 'Participants')}${nav('subscriptions', 'Subscriptions')}</nav>
  <span class="mode">${options.mode}</span>
  <span id="live" class="live" title="live updates">●</span>
</header>
<main>
${options.body}
</main>
</body>
</html>`}`;
}
