import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DB } from '../store/db.js';
import { insertDelivery, type DeliveryStatus, type HeaderPairs } from '../store/deliveries.js';
import { knownVerificationTokenHashes } from '../store/subscriptions.js';
import { InvalidPayload, isProviderName, type Provider, type ProviderName } from '../providers/types.js';
import { sha256Hex, verificationTokenMatches } from '../providers/oura/webhook.js';
import { HttpClient } from '../net/http-client.js';
import { healthProof } from '../tunnels/health.js';
import { errorMessage } from '../errors.js';
import { decodeJson, JsonDecodeError } from '../util/json.js';
import { readBody } from './body.js';
import { GroupCommit } from './group-commit.js';
import type { EventFilter } from './event-filter.js';
import { resendDelivery } from './resend.js';
import { WorkQueue, type FetchOuraDocument, type WorkEvent, type WorkQueueOptions } from './work-queue.js';

export interface DeliveryEvent {
  type: 'delivery';
  id: number;
  provider: ProviderName;
  event_type: string | null;
  user_id: string | null;
  status: DeliveryStatus;
  http_status: number;
  latency_ms: number;
  duplicate: boolean;
  received_at: string;
}

/** A request refused before anything was stored (bad signature, bad JSON, too large, no route). */
export interface RejectedEvent {
  type: 'rejected';
  provider: ProviderName | null;
  method: string;
  path: string;
  http_status: number;
  reason: string;
  latency_ms: number;
  received_at: string;
}

export interface ChallengeEvent {
  type: 'challenge';
  provider: 'oura';
  http_status: number;
  received_at: string;
}

export interface ForwardEvent {
  type: 'forward';
  id: number;
  provider: ProviderName;
  event_type: string | null;
  url: string;
  http_status: number | null;
  latency_ms: number;
  error?: string;
}

/** The receiver could not store a delivery (answered 503) or its queue failed. */
export interface ReceiverErrorEvent {
  type: 'error';
  message: string;
}

export type ReceiverEvent = DeliveryEvent | RejectedEvent | ChallengeEvent | ForwardEvent | WorkEvent | ReceiverErrorEvent;

export interface ReceiverStats {
  accepted: number;
  duplicates: number;
  rejected: number;
  forwarded: number;
  forwardFailed: number;
}

export interface ReceiverOptions {
  db: DB;
  host?: string;
  port?: number;
  providers: ReadonlyMap<ProviderName, Provider>;
  fetchOuraDocument: FetchOuraDocument;
  /** Accepted in Oura's challenge besides the tokens of stored subscriptions. */
  verificationToken?: string;
  /** Pass each new accepted delivery on to this URL. */
  forwardTo?: string;
  /** Which deliveries are reported and forwarded; all are stored. */
  eventFilter?: EventFilter;
  onEvent?: (event: ReceiverEvent) => void;
  /** The clock signatures are checked against (tests set it). */
  clock?: () => number;
  /** Tuning of the post-acknowledgement work (tests shorten the retry delays). */
  work?: Pick<WorkQueueOptions, 'concurrency' | 'maxAttempts' | 'retryDelayMs'>;
  httpClient?: HttpClient;
  /** The run's key for `GET /healthz?probe=N`, by which a tunnel's health check knows it reached this run. */
  healthKey?: Buffer;
}

export interface Receiver {
  /** http://HOST:PORT */
  url: string;
  port: number;
  stats: ReceiverStats;
  /** Resolves when no work is running or due and every forward has been sent. */
  idle(): Promise<void>;
  /** Stop accepting, finish requests in flight, let running work finish (bounded). The caller closes the database. */
  close(): Promise<void>;
}

const ROUTES = ['/oura', '/vital', '/open-wearables', '/standard', '/corsano'];

function reply(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // Oura cancels a subscription on 410: no path of this receiver may ever produce it.
  const safeStatus = status === 410 ? 500 : status;
  const text = JSON.stringify(body);
  res.writeHead(safeStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function rawHeaderPairs(req: http.IncomingMessage): HeaderPairs {
  const pairs: HeaderPairs = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  return pairs;
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: decodeJson(body) };
  } catch (err) {
    return { ok: false, reason: err instanceof JsonDecodeError ? err.message : 'the body is not valid JSON' };
  }
}

/**
 * The receiver: routes and answers exactly as CONTRACT.md says. A delivery is verified over
 * its exact bytes, committed to SQLite, and only then acknowledged; everything else
 * (normalising, Oura fetches, forwarding) happens after the answer.
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const { db, providers } = options;
  const clock = options.clock ?? Date.now;
  const emit = (event: ReceiverEvent) => options.onEvent?.(event);
  const shown = options.eventFilter ?? (() => true);
  const stats: ReceiverStats = { accepted: 0, duplicates: 0, rejected: 0, forwarded: 0, forwardFailed: 0 };
  const forwardClient = options.httpClient ?? new HttpClient({ timeoutMs: 10_000, maxRetries: 2 });
  let forwarding: Promise<void> = Promise.resolve();
  let closing = false;
  const commits = new GroupCommit(db);
  // While stopping, connections are closed after their answer rather than kept alive, so the stop never waits on idle sockets.
  const answer = (res: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}) =>
    reply(res, status, payload, closing ? { ...headers, connection: 'close' } : headers);

  const queue = new WorkQueue({
    db,
    commits,
    providers,
    fetchOuraDocument: options.fetchOuraDocument,
    ...options.work,
    onEvent: (event) => {
      if (shown(event.provider, event.event_type)) emit(event);
    },
    onError: (err) => emit({ type: 'error', message: `background work failed: ${errorMessage(err)}` }),
  });

  const acceptedTokens = (): string[] => {
    // Subscriptions wearhook created, and those being created now (Oura's challenge arrives mid-create).
    const hashes = knownVerificationTokenHashes(db);
    if (options.verificationToken) hashes.push(sha256Hex(options.verificationToken));
    return hashes;
  };

  const forward = (id: number, provider: ProviderName, eventType: string | null, method: string, headers: HeaderPairs, body: Buffer) => {
    const url = options.forwardTo!;
    // One at a time, in arrival order; a failing app only costs its own log line (the delivery stays stored).
    forwarding = forwarding.then(async () => {
      const started = performance.now();
      try {
        const result = await resendDelivery(forwardClient, url, { method, headers, body });
        if (result.status >= 200 && result.status < 300) stats.forwarded++;
        else stats.forwardFailed++;
        emit({ type: 'forward', id, provider, event_type: eventType, url, http_status: result.status, latency_ms: result.latencyMs });
      } catch (err) {
        stats.forwardFailed++;
        const latency = Math.round(performance.now() - started);
        emit({ type: 'forward', id, provider, event_type: eventType, url, http_status: null, latency_ms: latency, error: errorMessage(err) });
      }
    });
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedAt = new Date();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const route = new URL(target, 'http://receiver').pathname.replace(/\/+$/, '') || '/';
    const name = route.slice(1);
    const provider = isProviderName(name) ? providers.get(name) : undefined;
    const latency = () => Math.round(performance.now() - started);

    const refuse = (status: number, reason: string, headers: Record<string, string> = {}) => {
      stats.rejected++;
      answer(res, status, { error: reason }, headers);
      emit({
        type: 'rejected',
        provider: provider?.name ?? null,
        method,
        path: target,
        http_status: status,
        reason,
        latency_ms: latency(),
        received_at: receivedAt.toISOString(),
      });
    };

    if (route === '/healthz') {
      if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'use GET /healthz', { allow: 'GET, HEAD' });
      const probe = new URL(target, 'http://receiver').searchParams.get('probe');
      const proof = probe && options.healthKey ? { proof: healthProof(options.healthKey, probe) } : {};
      return answer(res, 200, { ok: true, ...stats, ...proof });
    }
    if (!provider) return refuse(404, `no such route; deliveries go to POST ${ROUTES.join(', ')}`);
    if (provider.name === 'oura' && method === 'GET') return answerChallenge(req, res, target, receivedAt);
    if (method !== 'POST') return refuse(405, `use POST ${route}`, { allow: provider.name === 'oura' ? 'GET, POST' : 'POST' });

    const read = await readBody(req);
    if (!read.ok && read.reason === 'aborted') return refuse(400, 'the sender closed the connection before the body was complete');
    if (!read.ok) return refuse(413, 'body larger than 1 MiB', { connection: 'close' });
    const signed = { headers: req.headers, body: read.body };
    const verification = provider.verify(signed, clock());
    if (!verification.ok) return refuse(401, verification.reason);
    const parsed = parseJson(read.body);
    if (!parsed.ok) return refuse(400, parsed.reason);
    let facts;
    try {
      facts = provider.describe(parsed.value, signed);
    } catch (err) {
      if (err instanceof InvalidPayload) return refuse(400, err.message);
      throw err;
    }

    let stored: { id: number; duplicate: boolean };
    // This process does the work of what it stores, unless its queue is full (then the row waits in the database).
    const claim = queue.wantsMore ? queue.claim() : undefined;
    try {
      stored = await commits.run(() => insertDelivery(db, {
        provider: provider.name,
        receivedAt,
        method,
        path: target,
        headers: rawHeaderPairs(req),
        body: read.body,
        ...facts,
        claim,
      }));
    } catch (err) {
      // Not durable, so not acknowledged: the sender will retry.
      answer(res, 503, { error: 'the delivery could not be stored; retry later' });
      emit({ type: 'error', message: `could not store a ${provider.name} delivery: ${errorMessage(err)}` });
      return;
    }
    answer(res, 200, { ok: true, id: stored.id, duplicate: stored.duplicate });
    if (stored.duplicate) stats.duplicates++;
    else stats.accepted++;

    const visible = shown(provider.name, facts.eventType);
    if (visible) {
      emit({
        type: 'delivery',
        id: stored.id,
        provider: provider.name,
        event_type: facts.eventType,
        user_id: facts.userId,
        status: 'received',
        http_status: 200,
        latency_ms: latency(),
        duplicate: stored.duplicate,
        received_at: receivedAt.toISOString(),
      });
    }
    if (stored.duplicate) return;
    if (claim) {
      queue.add({ id: stored.id, provider: provider.name, eventType: facts.eventType, userId: facts.userId, attempts: 0, payload: parsed.value, receivedAt, headers: req.headers });
    }
    else queue.stored();
    if (options.forwardTo && visible) forward(stored.id, provider.name, facts.eventType, method, rawHeaderPairs(req), read.body);
  }

  function answerChallenge(req: http.IncomingMessage, res: http.ServerResponse, target: string, receivedAt: Date): void {
    const query = new URL(target, 'http://receiver').searchParams;
    const challenge = query.get('challenge');
    const token = query.get('verification_token');
    const done = (status: number) => {
      if (status !== 200) stats.rejected++;
      emit({ type: 'challenge', provider: 'oura', http_status: status, received_at: receivedAt.toISOString() });
    };
    // CONTRACT: 200 with the challenge when the token matches, otherwise 401 (a GET without a
    // challenge included): the answer never tells a stranger more than "not you".
    if (challenge === null) {
      answer(res, 401, { error: 'missing challenge parameter' });
      return done(401);
    }
    let accepted: string[];
    try {
      accepted = acceptedTokens();
    } catch (err) {
      answer(res, 503, { error: 'subscriptions could not be read; retry later' });
      emit({ type: 'error', message: `could not read subscriptions: ${errorMessage(err)}` });
      return;
    }
    if (token === null || !verificationTokenMatches(token, accepted)) {
      answer(res, 401, { error: 'unknown verification_token' });
      return done(401);
    }
    answer(res, 200, { challenge });
    done(200);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      emit({ type: 'error', message: `request failed: ${errorMessage(err)}` });
      if (!res.headersSent) answer(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  queue.kick(); // resume what a previous run left pending

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    stats,
    idle: async () => {
      await queue.idle();
      await forwarding;
    },
    close: async () => {
      closing = true;
      await new Promise<void>((resolve) => {
        // Requests in flight finish; a client that never completes its request is cut after 10 s.
        const force = setTimeout(() => server.closeAllConnections(), 10_000);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await queue.stop();
      await Promise.race([forwarding, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    },
  };
}
