import { safeText, type Output } from '../cli/output.js';
import { fitWidths, formatRow, terminalWidth, truncate, type ColumnSpec } from '../cli/columns.js';
import { redact } from '../config/settings.js';
import { RuntimeError } from '../errors.js';
import type { ReplayResult } from '../forward/replay.js';
import type { ForwardRetryResult } from '../forward/retry.js';
import { getDeliveryOp, headerPairs, type DeliveryRow, type HeaderPairs } from '../store/deliveries.js';
import type { DeliveredVersion } from '../store/document-versions.js';
import type { OutboxAttempt, OutboxEntry, OutboxKind } from '../store/outbox.js';
import { deliveriesSinceOp } from '../store/delivery-history.js';
import type { Op } from '../store/sql.js';
import { formatLocal, localOffset } from '../time/display.js';
import { decodeJson } from '../util/json.js';

/** What `events list|show|tail|replay` print: the delivery log for people and for scripts. */

/** Headers that can carry a credential of the sender; shown as their first 4 characters. */
const SECRET_HEADER_RE = /^(authorization|proxy-authorization|cookie|set-cookie|x-client-secret|x-api-key|api-key)$|secret|token|password/i;

export function redactHeaders(pairs: HeaderPairs): HeaderPairs {
  return pairs.map(([name, value]) => [name, SECRET_HEADER_RE.test(name) ? redact(value) : value]);
}

export function summary(row: DeliveryRow) {
  return {
    id: row.id,
    received_at: row.received_at,
    provider: row.provider,
    event_type: row.event_type,
    user_id: row.user_id,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.next_attempt_at,
    error: row.error,
    processed_at: row.processed_at,
    method: row.method,
    path: row.path,
    dedupe_key: row.dedupe_key,
    bytes: row.body.length,
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bodyText(body: Buffer): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

/**
 * One delivery in full, for `events show --json`: the exact body text (or base64 when not
 * UTF-8), headers redacted, and the document versions it brought (older ones say so).
 */
export function detail(row: DeliveryRow, documents: DeliveredVersion[] = [], outbox: OutboxEntry[] = []) {
  const text = bodyText(row.body);
  let payload: unknown;
  try {
    // The receiver's own decoder: a body it would refuse (nested too deep for any printer) has no payload, only its text.
    payload = text === undefined ? undefined : decodeJson(row.body);
  } catch {
    payload = undefined;
  }
  return {
    ...summary(row),
    headers: redactHeaders(headerPairs(row)),
    body: text ?? null,
    body_base64: text === undefined ? row.body.toString('base64') : null,
    payload,
    documents,
    forwards: outbox.filter((o) => o.kind === 'forward').map(outboxView),
    hooks: outbox.filter((o) => o.kind === 'hook').map(outboxView),
  };
}

/** A forward or hook of a delivery, with every attempt (times as ISO 8601, UTC). */
export function outboxView(o: OutboxEntry) {
  return {
    target: o.target,
    filter: o.filter,
    status: o.status,
    attempts: o.attempts,
    last_code: o.last_code,
    last_error: o.last_error,
    next_attempt_at: o.status === 'pending' ? new Date(o.next_attempt_at).toISOString() : null,
    give_up_at: o.give_up_at === null ? null : new Date(o.give_up_at).toISOString(),
    done_at: o.done_at,
    attempt_log: o.attempt_log,
  };
}

export type OutboxView = ReturnType<typeof outboxView>;

/** How one forward or hook stands, in words (`events show`, the console's delivery page). */
export function outboxState(o: OutboxView, kind: OutboxKind): string {
  const tries = `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`;
  if (o.status === 'done') return kind === 'forward' ? `delivered (${o.last_code}) after ${tries}` : `done (exit 0) after ${tries}`;
  if (o.status === 'failed') return `failed after ${tries}`;
  return o.attempts === 0 ? 'pending' : `retrying at ${formatLocal(o.next_attempt_at!)} after ${tries}`;
}

/** What one attempt got: the HTTP status of a forward, the exit code of a hook. */
export function attemptAnswer(kind: OutboxKind, a: Pick<OutboxAttempt, 'code'>): string {
  if (kind === 'forward') return a.code === null ? 'no answer' : `HTTP ${a.code}`;
  return a.code === null ? 'no exit code' : `exit ${a.code}`;
}

/** What became of one document version a delivery brought, in words. */
export function describeVersion(v: DeliveredVersion): string {
  const where = `version ${v.position} of ${v.versions}`;
  if (v.arrived_older) return `${where}: older than the version already stored when it arrived (kept as history, not exported)`;
  return v.current ? `${where} (current)` : `${where} (a newer version arrived later)`;
}

const LIST_COLUMNS: ColumnSpec[] = [
  { header: 'id', right: true },
  { header: 'received' },
  { header: 'provider' },
  { header: 'event', flex: { min: 12 } },
  { header: 'user', flex: { min: 8 } },
  { header: 'status' },
  { header: 'error', flex: { min: 12 } },
];

/**
 * Received times in the local zone: when every row shares one offset the header shows it
 * once (`received (+01:00)`) and rows show the local date and time; a row in another offset
 * (a DST change in between) shows its own.
 */
function receivedCell(row: DeliveryRow, zone: string): string {
  const local = formatLocal(row.received_at);
  return local.endsWith(zone) ? local.slice(0, 19) : local;
}

function deliveryCells(r: DeliveryRow, zone: string): string[] {
  return [
    `#${r.id}`,
    receivedCell(r, zone),
    r.provider,
    safeText(r.event_type ?? '-'),
    safeText(r.user_id ?? '-'),
    r.status,
    safeText(r.error ?? ''),
  ];
}

/** Widths wide enough for what usually arrives, so that lines printed later (`tail --follow`) stay aligned. */
const TYPICAL: readonly string[] = ['#99999', '2026-01-01 00:00:00', 'open-wearables', 'x'.repeat(44), 'x'.repeat(36), 'processed', ''];

export interface DeliveryTable {
  header: string;
  line(row: DeliveryRow): string;
}

/**
 * The table of `events list` and `events tail`, fitted to the terminal (80 columns when
 * output is not a terminal): id, local time, provider and status whole; event, user and
 * error cut with an ellipsis (error left out first when there is no room). `typical` sizes
 * the columns for rows still to come.
 */
export function deliveryTable(output: Output, rows: readonly DeliveryRow[], typical = false): DeliveryTable {
  const c = output.color;
  const zone = localOffset(rows[0]?.received_at ?? Date.now());
  const sample = rows.map((row) => deliveryCells(row, zone));
  if (typical) sample.push([...TYPICAL]);
  const specs = LIST_COLUMNS.map((col) => (col.header === 'received' ? { ...col, header: `received (${zone})` } : col));
  const widths = fitWidths(specs, sample, terminalWidth(output.stdout));
  const colour: Record<string, (s: string) => string> = { failed: c.red, pending: c.yellow, processed: c.green };
  return {
    header: c.bold(formatRow(specs, widths, specs.map((col) => col.header))),
    line: (row) => formatRow(specs, widths, deliveryCells(row, zone), (column, text) => (column === 5 ? (colour[row.status] ?? String)(text) : text)),
  };
}

export function printList(output: Output, rows: readonly DeliveryRow[]): void {
  if (rows.length === 0) {
    output.log('no deliveries match');
    return;
  }
  const table = deliveryTable(output, rows);
  output.result(table.header);
  for (const row of rows) output.result(table.line(row));
}

export function printDetail(output: Output, row: DeliveryRow, documents: DeliveredVersion[] = [], outbox: OutboxEntry[] = []): void {
  const d = detail(row, documents, outbox);
  const field = (name: string, value: string) => output.result(`${output.color.bold(name.padEnd(12))}${value}`);
  field('delivery', `#${d.id} ${d.provider} ${safeText(d.event_type ?? '-')}`);
  field('received', `${formatLocal(d.received_at)}  ${d.method} ${safeText(d.path)}`);
  field('user', safeText(d.user_id ?? '-'));
  field('status', `${d.status} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})${d.processed_at ? ` at ${formatLocal(d.processed_at)}` : ''}`);
  if (d.next_attempt_at) field('next try', formatLocal(d.next_attempt_at));
  if (d.error) field('error', safeText(d.error));
  field('dedupe key', safeText(d.dedupe_key));
  for (const [i, v] of documents.entries()) field(i === 0 ? 'documents' : '', `${v.provider} ${v.type} ${safeText(v.id)}: ${describeVersion(v)}`);
  for (const [kind, list] of [['forward', d.forwards], ['hook', d.hooks]] as const) {
    if (list.length === 0) continue;
    output.result(output.color.bold(kind === 'forward' ? 'forwards' : 'hooks'));
    for (const o of list) {
      output.result(`  ${safeText(o.target)}${o.filter ? ` (${safeText(o.filter)})` : ''}: ${outboxState(o, kind)}`);
      for (const a of o.attempt_log) {
        output.result(`    ${a.attempt}. ${formatLocal(a.at)}  ${attemptAnswer(kind, a)} (${a.duration_ms} ms)${a.error ? `  ${safeText(a.error)}` : ''}`);
      }
    }
  }
  output.result(output.color.bold('headers'));
  for (const [name, value] of d.headers) output.result(`  ${safeText(name)}: ${safeText(value)}`);
  output.result(output.color.bold(`body (${d.bytes} bytes${d.body === null ? ', not UTF-8, base64' : ''})`));
  output.result(d.body === null ? (d.body_base64 ?? '') : safeText(d.body, { keepNewlines: true }));
}

/**
 * One line per replayed delivery: where it went, the receiver's status and its answer
 * (the reason a receiver gives for a refusal), e.g.
 * `#12 vital daily.data.sleep.created -> http://127.0.0.1:8787/vital: 401 {"error":"timestamp too old (310 s)"} (4 ms)`.
 */
export function replayLine(r: ReplayResult): string {
  const answer = r.http_status === null ? `no answer: ${safeText(r.error ?? 'unknown error')}` : `${r.http_status}${r.response ? ` ${truncate(safeText(r.response.trim()), 300)}` : ''}`;
  return `#${r.id} ${r.provider} ${safeText(r.event_type ?? '-')}${r.resigned ? ' (re-signed)' : ''} -> ${r.url}: ${answer} (${r.latency_ms} ms)`;
}

/** The deliveries to replay: the ids given (all must exist), or every one received since a time. */
export function* selectForReplayOp(ids: number[], since: Date | undefined): Op<DeliveryRow[]> {
  if (since) {
    const rows = yield* deliveriesSinceOp(since);
    if (rows.length === 0) throw new RuntimeError(`No deliveries were received since ${formatLocal(since)}; nothing to replay.`);
    return rows;
  }
  const rows: DeliveryRow[] = [];
  for (const id of ids) {
    const row = yield* getDeliveryOp(id);
    if (!row) throw new RuntimeError(`There is no delivery #${id}; see \`wearhook events list\`.`);
    rows.push(row);
  }
  return rows;
}

/** One line per forward of `events forward-retry`. */
export function forwardRetryLine(id: number, r: ForwardRetryResult): string {
  if (r.outcome === 'already-delivered') return `#${id} -> ${r.url}: already delivered (\`events replay ${id} --to ${r.url}\` sends it again)`;
  if (r.outcome === 'held-elsewhere') return `#${id} -> ${r.url}: being sent by a running listen right now`;
  const e = r.event;
  const answer = e.http_status === null ? 'no answer' : String(e.http_status);
  const then = e.status === 'delivered' ? 'delivered' : e.status === 'retrying' ? `not delivered; waiting for the next try at ${formatLocal(e.next_attempt_at!)}` : 'failed';
  return `#${id} -> ${r.url}: ${answer} ${then}${e.error ? ` (${safeText(e.error)})` : ''} (${e.latency_ms} ms)`;
}
