import type { IncomingHttpHeaders } from 'node:http';
import type { DocumentInput } from '../store/documents.js';
import type { SampleInput } from '../store/samples.js';

/** The senders the receiver knows; each has its own route (`POST /<name>`). */
export const PROVIDER_NAMES = ['oura', 'vital', 'open-wearables', 'standard', 'corsano'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export function isProviderName(value: string): value is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(value);
}

/** A delivery as it came off the wire: node's lower-cased headers and the exact body bytes. */
export interface SignedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Verification = { ok: true } | { ok: false; reason: string };

/** What the delivery log records about a verified delivery. */
export interface DeliveryFacts {
  /** Same key = same delivery: a retry is acknowledged and stored once. */
  dedupeKey: string;
  /** Provider event name, e.g. `daily.data.sleep.created`, or `sleep.create` for Oura (data_type.event_type). */
  eventType: string | null;
  userId: string | null;
}

/** What a verified payload asks of the store. */
export type Work =
  /** The payload carries its data (Vital, Open Wearables, Corsano) or a deletion: store it at once. */
  | {
      kind: 'store';
      documents: DocumentInput[];
      samples: SampleInput[];
      deletions: DocumentRef[];
      /** Series whose samples take the day of the sleep they fall in (HRV), once stored. */
      sleepDaySeries?: readonly string[];
    }
  /** An Oura notification: fetch the document with the user's token, then store it. */
  | { kind: 'fetch-oura'; userId: string; dataType: string; objectId: string };

export interface DocumentRef {
  provider: string;
  type: string;
  id: string;
}

/** A payload that verified but is not what this provider sends: the receiver answers 400. */
export class InvalidPayload extends Error {}

/**
 * One webhook sender. The receiver verifies with it before anything is stored, records the
 * facts it gives, and after acknowledging turns the stored payload into documents.
 */
export interface Provider {
  readonly name: ProviderName;
  /** Whether a signing secret is configured; without one every delivery is refused. */
  readonly configured: boolean;
  /**
   * What can be checked before the body is read: the signature headers are there and well
   * formed, the timestamp is within the window. A refusal here is answered at once, so an
   * unsigned or stale request never costs the receiver its body.
   */
  checkHeaders(headers: IncomingHttpHeaders, nowMs: number): Verification;
  /** Check the signature over the exact bytes, in constant time (checkHeaders included); `nowMs` is the clock. */
  verify(request: SignedRequest, nowMs: number): Verification;
  /** Facts of a verified, parsed payload; throws InvalidPayload when the shape is wrong. */
  describe(payload: unknown, request: SignedRequest): DeliveryFacts;
  /** What storing this payload means; pure, so it can run again after a crash. */
  work(payload: unknown, delivery?: DeliveryContext): Work;
}

/** The stored delivery a payload came in: its headers carry the sender's signed timestamp. */
export interface DeliveryContext {
  headers: IncomingHttpHeaders;
}

export function storeWork(parts: Partial<Omit<Extract<Work, { kind: 'store' }>, 'kind'>> = {}): Work {
  return { kind: 'store', documents: parts.documents ?? [], samples: parts.samples ?? [], deletions: parts.deletions ?? [], sleepDaySeries: parts.sleepDaySeries };
}

/** A plain JSON object, or undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function stringField(record: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = record?.[key];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** One header value (the first when repeated). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
