import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DB } from '../store/db.js';
import { insertDelivery, insertDeliveryOp, type DeliveryInput, type DeliveryStatus, type HeaderPairs } from '../store/deliveries.js';
import type { Store } from '../store/store.js';
import { postgresWorkStore } from './work-store.js';
import { Dispatcher, type DispatcherOptions, type ForwardEvent, type HookEvent } from '../forward/dispatcher.js';
import { postgresOutboxStore, sqliteOutboxStore } from '../forward/outbox-store.js';
import type { OutboxTargetSpec } from '../forward/targets.js';
import { knownVerificationTokenHashes, knownVerificationTokenHashesOp } from '../store/subscriptions.js';
import { InvalidPayload, isProviderName, type Provider, type ProviderName } from '../providers/types.js';
import { sha256Hex, verificationTokenMatches } from '../providers/oura/webhook.js';
import { HttpClient } from '../net/http-client.js';
import { healthProof } from '../tunnels/health.js';
import { errorMessage } from '../errors.js';
import { decodeJson, JsonDecodeError } from '../util/json.js';
import { readBody } from './body.js';
import { applyTimeouts, BodyBudget, ConnectionCap, resolveLimits, type ReceiverLimits } from './limits.js';
import { GroupCommit } from './group-commit.js';
import type { EventFilter } from './event-filter.js';
import { WorkQueue, type FetchOuraDocument, type WorkEvent, type WorkQueueOptions } from './work-queue.js';
import { isLoopbackAddress, isLoopbackHost } from './loopback.js';

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

export type { ForwardEvent, HookEvent };

/** The receiver could not store a delivery (answered 503) or its queue failed. */
export interface ReceiverErrorEvent {
  type: 'error';
  message: string;
}

export type ReceiverEvent = DeliveryEvent | RejectedEvent | ChallengeEvent | ForwardEvent | HookEvent | WorkEvent | ReceiverErrorEvent;

export interface ReceiverStats {
  accepted: number;
  duplicates: number;
  rejected: number;
  forwarded: number;
  forwardFailed: number;
  hooksRun: number;
  hooksFailed: number;
}

export interface ReceiverOptions {
  /** The SQLite database; or, instead, a PostgreSQL `store`. */
  db?: DB;
  store?: Store;
  host?: string;
  port?: number;
  providers: ReadonlyMap<ProviderName, Provider>;
  fetchOuraDocument: FetchOuraDocument;
  /** Accepted in Oura's challenge besides the tokens of stored subscriptions. */
  verificationToken?: string;
  /**
   * Forwards (`--forward-to`) and hooks (`--exec`) of each new delivery, durable and retried
   * (src/forward/dispatcher.ts).
   */
  targets?: readonly OutboxTargetSpec[];
  /** Tuning of forwards and hooks (retry window and waits, hook timeout; tests shorten them). */
  outbox?: Pick<DispatcherOptions, 'retryForMs' | 'retryDelayMs' | 'hookTimeoutMs' | 'hookConcurrency' | 'leaseMs' | 'pollMs'>;
  /** Which deliveries are reported, forwarded and hooked; all are stored. */
  eventFilter?: EventFilter;
  onEvent?: (event: ReceiverEvent) => void;
  /** The clock signatures are checked against (tests set it). */
  clock?: () => number;
  /** Tuning of the post-acknowledgement work (tests shorten the retry delays). */
  work?: Pick<WorkQueueOptions, 'concurrency' | 'maxAttempts' | 'retryDelayMs' | 'leaseMs' | 'maxHeld'>;
  /** Timeouts, the connection cap and the body budget (limits.ts); the defaults suit every real sender. */
  limits?: Partial<ReceiverLimits>;
  httpClient?: HttpClient;
  /** The run's key for `GET /healthz?probe=N`, by which a tunnel's health check knows it reached this run. */
  healthKey?: Buffer;
  /** More routes (e.g. enrolment pages), looked up after the receiver's own. */
  routes?: readonly ReceiverRoute[];
}

export interface Receiver {
  /** http://HOST:PORT */
  url: string;
  port: number;
  stats: ReceiverStats;
  /**
   * Aborted when the receiver starts to stop: whatever works over the network on its behalf
   * (forwards, fetches) ends then, and leaves its work stored, to be resumed.
   */
  signal: AbortSignal;
  /** Resolves when no work is running or due and every forward has been sent. */
  idle(): Promise<void>;
  /** Look in the database for due work now: something else in this process made some due (an enrolment woke waiting deliveries). */
  wake(): void;
  /**
   * Stop accepting; abort outstanding fetches and forwards at once (their work stays to be
   * resumed); give requests in flight and running work until `timeoutMs` (default 10 s), then
   * cut them; give up every claim. Reports nothing afterwards. The caller closes the database.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** One request as a route sees it. */
export interface RouteCall {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  /** The path, without the query. */
  path: string;
  query: URLSearchParams;
  receivedAt: Date;
  /** Answer with JSON (keep-alive unless the receiver is stopping or the request body was not read). */
  answer(status: number, body: unknown, headers?: Record<string, string>): void;
  /** Answer a refusal (`{error: reason}`), counted and reported as `rejected`. */
  refuse(status: number, reason: string, headers?: Record<string, string>): void;
}

/** A route: an exact path, or every path under a prefix that ends in `/`. */
export interface ReceiverRoute {
  path: string;
  handle(call: RouteCall): void | Promise<void>;
}

/** How long the stop waits for requests in flight and running work before cutting them. */
export const STOP_TIMEOUT_MS = 10_000;

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
 * The request target: origin form (`/vital?x`) or absolute form (`http://host/vital`, which
 * HTTP/1.1 servers must accept); anything that is not a URL is the sender's error (400).
 */
function parseTarget(target: string): { path: string; query: URLSearchParams } | undefined {
  try {
    const url = target.startsWith('/') ? new URL(target, 'http://receiver') : new URL(target);
    return { path: url.pathname.replace(/\/+$/, '') || '/', query: url.searchParams };
  } catch {
    return undefined;
  }
}

/**
 * The receiver: routes and answers exactly as CONTRACT.md says. A delivery's headers are
 * checked before its body is read, its signature over the exact bytes, then it is committed
 * to SQLite, and only then acknowledged; everything else (normalising, Oura fetches,
 * forwarding) happens after the answer. What clients may cost it is bounded (limits.ts).
 */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const { db, store, providers } = options;
  if (!db && !store) throw new Error('startReceiver needs a db or a store');
  const clock = options.clock ?? Date.now;
  let silenced = false;
  const emit = (event: ReceiverEvent) => {
    if (!silenced) options.onEvent?.(event);
  };
  const shown = options.eventFilter ?? (() => true);
  const stats: ReceiverStats = { accepted: 0, duplicates: 0, rejected: 0, forwarded: 0, forwardFailed: 0, hooksRun: 0, hooksFailed: 0 };
  const limits = resolveLimits(options.limits);
  const budget = new BodyBudget(limits.bodyBudgetBytes);
  const stopping = new AbortController();
  let closing = false;
  const commits = db ? new GroupCommit(db) : undefined;

  const outbox = new Dispatcher({
    store: db && commits ? sqliteOutboxStore(db, commits) : postgresOutboxStore(store!),
    providers,
    targets: options.targets ?? [],
    eventFilter: shown,
    ...(options.httpClient ? { client: options.httpClient } : {}),
    ...options.outbox,
    onEvent: (event) => {
      if (event.type === 'forward') {
        if (event.status === 'delivered') stats.forwarded++;
        else if (event.status === 'failed') stats.forwardFailed++;
      } else if (event.status === 'done') stats.hooksRun++;
      else if (event.status === 'failed') stats.hooksFailed++;
      emit(event);
    },
    onError: (err) => emit({ type: 'error', message: `forwarding or a hook failed unexpectedly: ${errorMessage(err)}` }),
  });
  // Before anything is accepted: a new target's cursor starts after what is already stored.
  await outbox.open();

  const queue = new WorkQueue({
    ...(db ? { db, commits } : { store: postgresWorkStore(store!) }),
    providers,
    fetchOuraDocument: options.fetchOuraDocument,
    ...options.work,
    onEvent: (event) => {
      if (shown(event.provider, event.event_type)) emit(event);
      // Hooks run once a delivery's work is done.
      if (event.status !== 'pending') outbox.kick();
    },
    onError: (err) => emit({ type: 'error', message: `background work failed: ${errorMessage(err)}` }),
  });

  const acceptedTokens = async (): Promise<string[]> => {
    // Subscriptions wearhook created, and those being created now (Oura's challenge arrives mid-create).
    const hashes = db ? knownVerificationTokenHashes(db) : await store!.read(knownVerificationTokenHashesOp, new Date());
    if (options.verificationToken) hashes.push(sha256Hex(options.verificationToken));
    return hashes;
  };

  /** POST /<provider>: headers, body, signature, JSON, store, acknowledge. */
  async function receiveDelivery(call: RouteCall, provider: Provider, started: number): Promise<void> {
    const { req, refuse, answer, method, receivedAt } = call;
    const latency = () => Math.round(performance.now() - started);
    const checked = provider.checkHeaders(req.headers, clock());
    if (!checked.ok) return refuse(401, checked.reason);
    const read = await readBody(req, budget);
    if (!read.ok) {
      if (read.reason === 'aborted') return refuse(400, 'the sender closed the connection before the body was complete');
      if (read.reason === 'busy') return refuse(503, 'too many large deliveries at once; retry later', { 'retry-after': '1' });
      return refuse(413, 'body larger than 1 MiB');
    }
    try {
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
      const claim = queue.wantsMore(read.body.length) ? queue.claim() : undefined;
      try {
        const delivery: DeliveryInput = {
          provider: provider.name,
          receivedAt,
          method,
          path: req.url ?? '/',
          headers: rawHeaderPairs(req),
          body: read.body,
          ...facts,
          claim,
        };
        // PostgreSQL: the promise resolves once COMMIT has returned, so the answer still follows the commit.
        stored = db && commits ? await commits.run(() => insertDelivery(db, delivery)) : await store!.run(insertDeliveryOp, delivery);
      } catch (err) {
        // Not durable, so not acknowledged: the sender will retry.
        answer(503, { error: 'the delivery could not be stored; retry later' });
        emit({ type: 'error', message: `could not store a ${provider.name} delivery: ${errorMessage(err)}` });
        return;
      }
      answer(200, { ok: true, id: stored.id, duplicate: stored.duplicate });
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
        const job = { id: stored.id, provider: provider.name, eventType: facts.eventType, userId: facts.userId, attempts: 0 };
        queue.add({ ...job, bytes: read.body.length, payload: parsed.value, receivedAt, headers: req.headers });
      }
      else queue.stored();
      if (visible) outbox.kick();
    } finally {
      read.release();
    }
  }

  async function answerChallenge(call: RouteCall): Promise<void> {
    const { query, answer, receivedAt } = call;
    const challenge = query.get('challenge');
    const token = query.get('verification_token');
    const done = (status: number) => {
      if (status !== 200) stats.rejected++;
      emit({ type: 'challenge', provider: 'oura', http_status: status, received_at: receivedAt.toISOString() });
    };
    // CONTRACT: 200 with the challenge when the token matches, otherwise 401 (a GET without a
    // challenge included): the answer never tells a stranger more than "not you".
    if (challenge === null) {
      answer(401, { error: 'missing challenge parameter' });
      return done(401);
    }
    let accepted: string[];
    try {
      accepted = await acceptedTokens();
    } catch (err) {
      answer(503, { error: 'subscriptions could not be read; retry later' });
      emit({ type: 'error', message: `could not read subscriptions: ${errorMessage(err)}` });
      return;
    }
    if (token === null || !verificationTokenMatches(token, accepted)) {
      answer(401, { error: 'unknown verification_token' });
      return done(401);
    }
    answer(200, { challenge });
    done(200);
  }

  /** The routing table: the receiver's own routes, then those added by options. */
  const routes: ReceiverRoute[] = [
    {
      path: '/healthz',
      handle: ({ req, method, query, answer, refuse }) => {
        if (method !== 'GET' && method !== 'HEAD') return refuse(405, 'use GET /healthz', { allow: 'GET, HEAD' });
        const probe = query.get('probe');
        const proof = probe && options.healthKey ? { proof: healthProof(options.healthKey, probe) } : {};
        // The counters only to this machine, asked by its own name: a web page that rebinds its
        // DNS name to 127.0.0.1, or anyone through a tunnel, learns only that the receiver is up.
        const local = isLoopbackAddress(req.socket.remoteAddress) && isLoopbackHost(req.headers.host);
        answer(200, local ? { ok: true, ...stats, ...proof } : { ok: true, ...proof });
      },
    },
    ...[...providers.values()].map(
      (provider): ReceiverRoute => ({
        path: `/${provider.name}`,
        handle: (call) => {
          if (provider.name === 'oura' && call.method === 'GET') return answerChallenge(call);
          if (call.method !== 'POST') return call.refuse(405, `use POST /${provider.name}`, { allow: provider.name === 'oura' ? 'GET, POST' : 'POST' });
          return receiveDelivery(call, provider, performance.now());
        },
      }),
    ),
    ...(options.routes ?? []),
  ];
  const deliveryRoutes = [...providers.keys()].map((name) => `/${name}`).join(', ');

  function findRoute(path: string): ReceiverRoute | undefined {
    return routes.find((r) => (r.path.endsWith('/') ? path.startsWith(r.path) : path === r.path));
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const receivedAt = new Date();
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const parsedTarget = parseTarget(target);
    const provider = parsedTarget && isProviderName(parsedTarget.path.slice(1)) ? providers.get(parsedTarget.path.slice(1) as ProviderName) : undefined;

    // Keep-alive unless stopping (the stop must not wait on idle sockets) or the body was left unread.
    const answer = (status: number, payload: unknown, headers: Record<string, string> = {}) =>
      reply(res, status, payload, closing || !req.complete ? { ...headers, connection: 'close' } : headers);
    const refuse = (status: number, reason: string, headers: Record<string, string> = {}) => {
      stats.rejected++;
      answer(status, { error: reason }, headers);
      emit({
        type: 'rejected',
        provider: provider?.name ?? null,
        method,
        path: target,
        http_status: status,
        reason,
        latency_ms: Math.round(performance.now() - started),
        received_at: receivedAt.toISOString(),
      });
    };

    if (!parsedTarget) return refuse(400, 'the request target is not a valid URL');
    const route = findRoute(parsedTarget.path);
    if (!route) return refuse(404, `no such route; deliveries go to POST ${deliveryRoutes}`);
    await route.handle({ req, res, method, path: parsedTarget.path, query: parsedTarget.query, receivedAt, answer, refuse });
  }

  const server = http.createServer({ connectionsCheckingInterval: 1_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      emit({ type: 'error', message: `request failed: ${errorMessage(err)}` });
      if (!res.headersSent) reply(res, 500, { error: 'internal error' }, { connection: 'close' });
      else res.destroy();
    });
  });
  // A sender that half-closes its side after the body still gets its answer once the commit
  // returns (RFC 9112: a half-close does not mean it is no longer interested in the response).
  // By default Node ends the connection at the FIN, dropping an acknowledgement not yet written
  // (a commit on PostgreSQL takes that long); Node's own flag, not in its type definitions.
  Object.assign(server, { httpAllowHalfOpen: true });
  applyTimeouts(server, limits);
  new ConnectionCap(server, limits.maxConnections);

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
  outbox.kick();

  let closed: Promise<void> | undefined;
  const close = async (timeoutMs: number) => {
    closing = true;
    const deadline = Date.now() + timeoutMs;
    const remaining = () => Math.max(0, deadline - Date.now());
    // Network work ends now; what it was doing stays stored and resumes next time.
    stopping.abort();
    queue.beginStop();
    outbox.beginStop();
    await new Promise<void>((resolve) => {
      // Requests in flight finish; connections still open at the deadline are cut.
      const force = setTimeout(() => server.closeAllConnections(), remaining());
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
    await Promise.all([queue.stop(remaining()), outbox.stop(remaining())]);
    silenced = true;
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    stats,
    signal: stopping.signal,
    idle: async () => {
      await queue.idle();
      await outbox.idle();
    },
    wake: () => queue.stored(),
    close: ({ timeoutMs = STOP_TIMEOUT_MS } = {}) => (closed ??= close(timeoutMs)),
  };
}
