import type { Output } from '../cli/output.js';
import { redact } from '../config/settings.js';
import { RuntimeError } from '../errors.js';
import type { DB } from '../store/db.js';
import { deliveriesSince, getDelivery, headerPairs, type DeliveryRow, type HeaderPairs } from '../store/deliveries.js';
import type { DeliveredVersion } from '../store/document-versions.js';
import { HttpClient } from '../net/http-client.js';
import { resendDelivery } from './resend.js';
import { decodeJson } from '../util/json.js';

/** What `events list|show|replay` print: the delivery log for people and for scripts. */

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
export function detail(row: DeliveryRow, documents: DeliveredVersion[] = []) {
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
  };
}

/** What became of one document version a delivery brought, in words. */
export function describeVersion(v: DeliveredVersion): string {
  const where = `version ${v.position} of ${v.versions}`;
  if (v.arrived_older) return `${where}: older than the version already stored when it arrived (kept as history, not exported)`;
  return v.current ? `${where} (current)` : `${where} (a newer version arrived later)`;
}

export function printList(output: Output, rows: DeliveryRow[]): void {
  if (rows.length === 0) {
    output.log('no deliveries match');
    return;
  }
  const c = output.color;
  const table = rows.map((r) => [
    `#${r.id}`,
    r.received_at.replace('T', ' ').slice(0, 19),
    r.provider,
    r.event_type ?? '-',
    r.user_id ?? '-',
    r.status,
    r.error ? r.error.slice(0, 80) : '',
  ]);
  const header = ['id', 'received (UTC)', 'provider', 'event', 'user', 'status', 'error'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[], paint: (i: number, text: string) => string = (_i, text) => text) =>
    cells
      .map((cell, i) => paint(i, i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  output.result(c.bold(line(header)));
  const colour: Record<string, (s: string) => string> = { failed: c.red, pending: c.yellow, processed: c.green };
  for (const row of table) {
    output.result(line(row, (i, text) => (i === 5 ? (colour[row[5]!] ?? String)(text) : text)));
  }
}

export function printDetail(output: Output, row: DeliveryRow, documents: DeliveredVersion[] = []): void {
  const d = detail(row, documents);
  const field = (name: string, value: string) => output.result(`${output.color.bold(name.padEnd(12))}${value}`);
  field('delivery', `#${d.id} ${d.provider} ${d.event_type ?? '-'}`);
  field('received', `${d.received_at}  ${d.method} ${d.path}`);
  field('user', d.user_id ?? '-');
  field('status', `${d.status} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})${d.processed_at ? ` at ${d.processed_at}` : ''}`);
  if (d.next_attempt_at) field('next try', d.next_attempt_at);
  if (d.error) field('error', d.error);
  field('dedupe key', d.dedupe_key);
  for (const [i, v] of documents.entries()) field(i === 0 ? 'documents' : '', `${v.provider} ${v.type} ${v.id}: ${describeVersion(v)}`);
  output.result(output.color.bold('headers'));
  for (const [name, value] of d.headers) output.result(`  ${name}: ${value}`);
  output.result(output.color.bold(`body (${d.bytes} bytes${d.body === null ? ', not UTF-8, base64' : ''})`));
  output.result(d.body ?? d.body_base64 ?? '');
}

export interface ReplayResult {
  id: number;
  provider: string;
  event_type: string | null;
  url: string;
  http_status: number | null;
  latency_ms: number;
  error?: string;
}

/** The deliveries to replay: the ids given (all must exist), or every one received since a time. */
export function selectForReplay(db: DB, ids: number[], since: Date | undefined): DeliveryRow[] {
  if (since) {
    const rows = deliveriesSince(db, since);
    if (rows.length === 0) throw new RuntimeError(`No deliveries were received since ${since.toISOString()}; nothing to replay.`);
    return rows;
  }
  return ids.map((id) => {
    const row = getDelivery(db, id);
    if (!row) throw new RuntimeError(`There is no delivery #${id}; see \`wearhook events list\`.`);
    return row;
  });
}

/** Send stored deliveries again, in order, byte for byte with their headers; one result each. */
export async function replay(rows: DeliveryRow[], url: string, client = new HttpClient({ timeoutMs: 15_000 })): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const row of rows) {
    const base = { id: row.id, provider: row.provider, event_type: row.event_type, url };
    const started = performance.now();
    try {
      const sent = await resendDelivery(client, url, { method: row.method, headers: headerPairs(row), body: row.body });
      results.push({ ...base, http_status: sent.status, latency_ms: sent.latencyMs });
    } catch (err) {
      results.push({ ...base, http_status: null, latency_ms: Math.round(performance.now() - started), error: (err as Error).message });
    }
  }
  return results;
}
