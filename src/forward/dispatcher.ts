import { redactUrl } from '../config/setting-keys.js';
import { errorMessage } from '../errors.js';
import { HttpClient, retryAfterMs, type HttpResponse } from '../net/http-client.js';
import type { Provider, ProviderName } from '../providers/types.js';
import type { EventFilter } from '../receiver/event-filter.js';
import { ClaimLostError, DEFAULT_LEASE_MS, newClaimOwner, releaseClaimsOfGoneOwnersOp, releaseClaimsOp, renewClaimsOp } from '../store/claims.js';
import { getDeliveryOp, headerPairs, type DeliveryRow } from '../store/deliveries.js';
import { documentsOfDeliveryOp } from '../store/document-versions.js';
import {
  claimDueHooksOp,
  claimForwardHeadOp,
  enqueueOp,
  nextOutboxDueOp,
  OUTBOX_WORK,
  recordAttemptOp,
  registerTargetOp,
  type AttemptOutcome,
  type OutboxRow,
  type OutboxTarget,
} from '../store/outbox.js';
import type { Op } from '../store/sql.js';
import { hookInput } from '../hooks/input.js';
import type { OutboxStore } from './outbox-store.js';
import { runHook } from '../hooks/run.js';
import { endToEndHeaders, headerObject } from './headers.js';
import { targetKey, type ForwardTarget, type HookTarget, type OutboxTargetSpec } from './targets.js';

/** One attempt to forward a delivery (`listen --json`: a `forward` line). */
export interface ForwardEvent {
  type: 'forward';
  id: number;
  provider: string;
  event_type: string | null;
  url: string;
  attempt: number;
  http_status: number | null;
  latency_ms: number;
  /** delivered; retrying at `next_attempt_at`; failed for good. */
  status: 'delivered' | 'retrying' | 'failed';
  next_attempt_at?: string;
  error?: string;
}

/** One run of a hook (`listen --json`: a `hook` line). */
export interface HookEvent {
  type: 'hook';
  id: number;
  provider: string;
  event_type: string | null;
  command: string;
  attempt: number;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number;
  status: 'done' | 'retrying' | 'failed';
  next_attempt_at?: string;
  error?: string;
  /** The end of what it printed, when it did not succeed. */
  output?: string;
}

export type OutboxEvent = ForwardEvent | HookEvent;

export interface DispatcherOptions {
  /** Where the outbox is: the SQLite file (outcomes ride on the receiver's group commit) or PostgreSQL. */
  store: OutboxStore;
  providers: ReadonlyMap<ProviderName, Provider>;
  targets: readonly OutboxTargetSpec[];
  /** `listen --events`: only what it shows is forwarded and hooked (all is stored). */
  eventFilter?: EventFilter;
  client?: HttpClient;
  owner?: string;
  leaseMs?: number;
  /** How long a forward (from its delivery's arrival) or a hook (from its first run) is retried: default 1 h. */
  retryForMs?: number;
  /** The wait before attempt `attempt + 1` (default: 1 s doubling to 1 min, with jitter). */
  retryDelayMs?: (attempt: number) => number;
  /** A hook still running after this is ended (default 30 s). */
  hookTimeoutMs?: number;
  /** Runs of one hook at once (default 4); different hooks never wait for each other. */
  hookConcurrency?: number;
  /** How often the database is read for deliveries stored by other processes and for work that fell due (default 1 s). */
  pollMs?: number;
  onEvent?: (event: OutboxEvent) => void;
  onError?: (err: unknown) => void;
}

export const DEFAULT_RETRY_FOR_MS = 3_600_000;
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
const FORWARD_TIMEOUT_MS = 15_000;
const ENQUEUE_BATCH = 500;

/** Equal jitter: half the exponential step for sure, the other half at random; 1 s doubling, at most 60 times the first (a minute). */
export function backoffMs(attempt: number, baseMs = 1_000, maxMs = 60 * baseMs, random = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + (random() * step) / 2);
}

/** An answer that may come out differently later: a server error, rate limiting, a timeout. */
function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

function snippet(body: Buffer): string {
  const text = body.subarray(0, 300).toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text}` : '';
}

interface Target {
  spec: OutboxTargetSpec;
  row: OutboxTarget;
  running: number;
}

/** Up to this many new deliveries per target in one pass (ENQUEUE_BATCH at a time). */
const ENQUEUE_ROUNDS = 20;

/**
 * The forwards and hooks of a `listen` run, durable: each (delivery, target) is a row of the
 * outbox, claimed by one process at a time, retried with backoff within a bounded window, and
 * resumed after a stop or a crash. Bodies are read from the database when they are sent, so
 * what is waiting costs no memory. Forwards keep their order per target (the oldest pending one
 * goes first, alone); hooks run when their delivery's work is done, several at once.
 */
export class Dispatcher {
  readonly owner: string;
  private targets: Target[] = [];
  private readonly store: OutboxStore;
  private readonly client: HttpClient;
  private readonly inflight = new Set<Promise<void>>();
  private readonly aborter = new AbortController();
  private scheduled: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private stopping = false;
  private pumping = false;
  private again = false;
  private readonly leaseMs: number;
  private readonly retryForMs: number;
  private readonly retryDelayMs: (attempt: number) => number;

  constructor(private readonly options: DispatcherOptions) {
    this.owner = options.owner ?? newClaimOwner();
    this.store = options.store;
    this.client = options.client ?? new HttpClient({ timeoutMs: FORWARD_TIMEOUT_MS, maxRetries: 0 });
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    this.retryDelayMs = options.retryDelayMs ?? ((attempt) => backoffMs(attempt));
  }

  /** Register the targets: call it before the receiver accepts anything, so that no delivery slips past a new target's cursor. */
  async open(): Promise<void> {
    const specs = this.options.targets;
    if (specs.length === 0) return;
    const rows = await this.store.write(function* () {
      const made: OutboxTarget[] = [];
      for (const spec of specs) made.push(yield* registerTargetOp(spec.kind, targetKey(spec), spec.filterText));
      return made;
    });
    this.targets = specs.map((spec, i) => ({ spec, row: rows[i]!, running: 0 }));
  }

  get active(): boolean {
    return this.targets.length > 0;
  }

  /** Look for work soon: a delivery was stored, or a delivery's work is done. */
  kick(): void {
    if (this.stopping || this.targets.length === 0) return;
    // A pass under way looks again when it is done.
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = undefined;
      this.pumping = true;
      this.pump()
        .catch((err: unknown) => {
          this.options.onError?.(err);
          this.arm(Date.now(), []);
        })
        .finally(() => {
          this.pumping = false;
          if (this.again) {
            this.again = false;
            this.kick();
          }
        });
    });
  }

  /** Resolves when nothing is being sent or run and nothing is due right now. */
  idle(): Promise<void> {
    if (this.targets.length === 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.kick();
    });
  }

  /** Start nothing more, and abort what is being sent or run: it stays pending, for the next run. */
  beginStop(): void {
    this.stopping = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    clearTimeout(this.timer);
    this.aborter.abort();
  }

  /** beginStop(), wait for what was cut to settle (bounded), and give up every claim. */
  async stop(graceMs = 5_000): Promise<void> {
    this.beginStop();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise<void>((resolve) => (timeout = setTimeout(resolve, graceMs)))]);
    clearTimeout(timeout);
    clearInterval(this.renewTimer);
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    if (this.targets.length === 0) return;
    const owner = this.owner;
    try {
      await this.store.write(() => releaseClaimsOp(OUTBOX_WORK, owner));
    } catch (err) {
      this.options.onError?.(err); // they lapse by themselves
    }
  }

  /**
   * One pass: new deliveries become outbox rows, and due rows are claimed, all in one
   * transaction (on SQLite one of the receiver's group commit without an fsync of its own: rows,
   * cursors and claims can all be rebuilt, so a power cut before the next durable commit only
   * means looking at those deliveries again). Then what was claimed starts.
   */
  private async pump(): Promise<void> {
    if (this.stopping) return;
    const now = Date.now();
    const shown = this.options.eventFilter ?? (() => true);
    const { owner, leaseMs, retryForMs, targets } = this;
    const hookConcurrency = this.options.hookConcurrency ?? 4;
    // On PostgreSQL the cursors move only up to ids whose inserts have all ended (outbox.ts, deliveryHorizonOp).
    const upTo = await this.store.horizon(targets.map((t) => t.row.id));
    const claimed = await this.store.write(function* (): Op<{ target: Target; row: OutboxRow }[]> {
      yield* releaseClaimsOfGoneOwnersOp(OUTBOX_WORK);
      for (const target of targets) {
        const wanted = (d: { provider: string; event_type: string | null; received_at: string }) =>
          shown(d.provider, d.event_type) &&
          target.spec.filter(d.provider, d.event_type) &&
          // A delivery older than the retry window when a target first sees it (a long stop) is past helping.
          Date.parse(d.received_at) >= now - retryForMs;
        for (let i = 0; i < ENQUEUE_ROUNDS && (yield* enqueueOp(target.row, wanted, { now, retryForMs, limit: ENQUEUE_BATCH, upTo })) === ENQUEUE_BATCH; i++);
      }
      const rows: { target: Target; row: OutboxRow }[] = [];
      for (const target of targets) {
        if (target.spec.kind === 'forward') {
          if (target.running > 0) continue;
          const row = yield* claimForwardHeadOp(owner, target.row.id, { now, leaseMs });
          if (row) rows.push({ target, row });
        } else {
          const room = hookConcurrency - target.running;
          if (room <= 0) continue;
          for (const row of yield* claimDueHooksOp(owner, target.row.id, { now, leaseMs, limit: room })) rows.push({ target, row });
        }
      }
      return rows;
    });
    if (this.stopping) {
      // Claimed just as the stop began: leave them for the next run.
      const ids = claimed.map((c) => c.row.id);
      if (ids.length > 0) await this.store.write(() => releaseClaimsOp(OUTBOX_WORK, owner, ids));
      return;
    }
    for (const { target, row } of claimed) {
      this.start(target, row, () => (target.spec.kind === 'forward' ? this.forward(target.spec, row) : this.hook(target.spec, row)));
    }
    this.keepClaims();
    if (this.inflight.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
    const upcoming = await this.store.read(function* () {
      const times: (number | undefined)[] = [];
      for (const t of targets) times.push(yield* nextOutboxDueOp(t.row));
      return times;
    });
    this.arm(now, upcoming);
  }

  private start(target: Target, row: OutboxRow, work: () => Promise<void>): void {
    target.running++;
    const task: Promise<void> = work()
      .catch((err: unknown) => {
        if (!(err instanceof ClaimLostError)) this.options.onError?.(err);
      })
      .finally(() => {
        target.running--;
        this.inflight.delete(task);
        this.kick();
      });
    this.inflight.add(task);
  }

  /** The next look: when a retry falls due (`upcoming`: each target's next), and at least every `pollMs` for other processes' deliveries and finished work. */
  private arm(now: number, upcoming: readonly (number | undefined)[]): void {
    clearTimeout(this.timer);
    if (this.stopping) return;
    const poll = this.options.pollMs ?? 1_000;
    // Rows due already but not taken (held by another process, or every slot busy) are looked at again at the next poll.
    const later = upcoming.filter((at): at is number => at !== undefined && at > now);
    const delay = Math.min(poll, ...later.map((at) => at - now));
    this.timer = setTimeout(() => this.kick(), delay);
    this.timer.unref();
  }

  private keepClaims(): void {
    if (this.inflight.size > 0 && !this.renewTimer) {
      this.renewTimer = setInterval(() => {
        const { owner, leaseMs } = this;
        this.store
          .write(() => renewClaimsOp(OUTBOX_WORK, owner, leaseMs))
          .catch((err: unknown) => this.options.onError?.(err));
      }, Math.max(10, Math.floor(this.leaseMs / 3)));
      this.renewTimer.unref();
    } else if (this.inflight.size === 0 && this.renewTimer) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
  }

  private release(row: OutboxRow): Promise<unknown> {
    return releaseRow(this.sender(), row);
  }


  private async forward(spec: ForwardTarget, row: OutboxRow): Promise<void> {
    const event = await sendForward(this.sender(), spec.url, row);
    if (event) this.emit(event);
  }

  private sender(): ForwardSender {
    return { store: this.store, client: this.client, owner: this.owner, signal: this.aborter.signal, retryForMs: this.retryForMs, retryDelayMs: this.retryDelayMs };
  }

  private async hook(spec: HookTarget, row: OutboxRow): Promise<void> {
    const delivery = await deliveryOf(this.store, row);
    const documents = await this.store.read(() => documentsOfDeliveryOp(delivery.id));
    const attempt = row.attempts + 1;
    const startedAt = new Date();
    const input = hookInput(delivery, documents, this.options.providers);
    const timeoutMs = this.options.hookTimeoutMs ?? DEFAULT_HOOK_TIMEOUT_MS;
    const run = await runHook({ argv: spec.argv, input: input.json, env: input.env, timeoutMs, signal: this.aborter.signal });
    if (this.aborter.signal.aborted) return void (await this.release(row));
    const finishedAt = Date.now();
    const giveUpAt = row.give_up_at ?? startedAt.getTime() + this.retryForMs;
    let outcome: AttemptOutcome;
    let error: string | null = null;
    if (run.exitCode === 0) {
      outcome = { startedAt, durationMs: run.durationMs, code: 0, error: null, output: run.output || null, status: 'done', giveUpAt };
    } else {
      error = run.startError ?? (run.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s (killed)` : run.signal ? `killed by ${run.signal}` : `exit code ${run.exitCode}`);
      if (run.startError) {
        outcome = { startedAt, durationMs: run.durationMs, code: null, error, output: run.output || null, status: 'failed', giveUpAt };
      } else {
        const next = verdict(this.retryDelayMs, attempt, finishedAt, giveUpAt);
        const summary = next.gaveUp ? `gave up after ${attempt} run${attempt === 1 ? '' : 's'}: ${error}` : undefined;
        outcome = { startedAt, durationMs: run.durationMs, code: run.exitCode, error, summary, output: run.output || null, giveUpAt, ...next };
      }
    }
    const owner = this.owner;
    await this.store.write(() => recordAttemptOp(owner, row, outcome));
    this.emit({
      type: 'hook',
      id: delivery.id,
      provider: delivery.provider,
      event_type: delivery.event_type,
      command: spec.command,
      attempt,
      exit_code: run.exitCode,
      signal: run.signal,
      duration_ms: run.durationMs,
      status: outcome.status === 'done' ? 'done' : outcome.status === 'pending' ? 'retrying' : 'failed',
      ...(outcome.nextAttemptAt !== undefined ? { next_attempt_at: new Date(outcome.nextAttemptAt).toISOString() } : {}),
      ...(error ? { error: outcome.summary ?? error, output: run.output } : {}),
    });
  }

  private emit(event: OutboxEvent): void {
    if (!this.stopping) this.options.onEvent?.(event);
  }
}

/** What sending one forward needs: the store, the client, whose claim it is, and the retry rules. */
export interface ForwardSender {
  store: OutboxStore;
  client: HttpClient;
  owner: string;
  signal: AbortSignal;
  retryForMs: number;
  retryDelayMs: (attempt: number) => number;
}

/** What follows a failed attempt: another one within the window, or failed for good. */
function verdict(retryDelayMs: (attempt: number) => number, attempt: number, finishedAt: number, giveUpAt: number, minDelayMs = 0): Pick<AttemptOutcome, 'status' | 'nextAttemptAt'> & { gaveUp: boolean } {
  const next = finishedAt + Math.max(retryDelayMs(attempt), minDelayMs);
  return next > giveUpAt ? { status: 'failed', gaveUp: true } : { status: 'pending', nextAttemptAt: next, gaveUp: false };
}

function releaseRow(sender: ForwardSender, row: OutboxRow): Promise<unknown> {
  return sender.store.write(() => releaseClaimsOp(OUTBOX_WORK, sender.owner, [row.id]));
}

async function deliveryOf(store: OutboxStore, row: OutboxRow): Promise<DeliveryRow> {
  const delivery = await store.read(() => getDeliveryOp(row.delivery_id));
  if (!delivery) throw new Error(`delivery #${row.delivery_id} is not in the database`);
  return delivery;
}

/**
 * One attempt to forward a claimed outbox row: the stored body and end-to-end headers, one
 * request (no retries inside: the outbox retries, durably). The outcome is recorded while the
 * claim is held. Returns what happened, or undefined when the attempt was cut by a stop (the
 * row is left pending and free for the next run).
 */
export async function sendForward(sender: ForwardSender, url: string, row: OutboxRow): Promise<ForwardEvent | undefined> {
  const delivery = await deliveryOf(sender.store, row);
  const attempt = row.attempts + 1;
  const startedAt = new Date();
  const t0 = performance.now();
  let response: HttpResponse | undefined;
  let failure: string | undefined;
  try {
    response = await sender.client.request({
      method: 'POST',
      url,
      headers: headerObject(endToEndHeaders(headerPairs(delivery))),
      body: delivery.body,
      retry: 'never',
      signal: sender.signal,
    });
  } catch (err) {
    failure = errorMessage(err).replace(/\.$/, '');
  }
  // Stopping: the attempt was cut, not answered; the next run sends it.
  if (sender.signal.aborted) {
    await releaseRow(sender, row);
    return undefined;
  }
  const durationMs = Math.round(performance.now() - t0);
  const finishedAt = Date.now();
  const status = response?.status ?? null;
  let outcome: AttemptOutcome;
  let error: string | null = null;
  if (status !== null && status >= 200 && status < 300) {
    outcome = { startedAt, durationMs, code: status, error: null, status: 'done' };
  } else {
    error = status === null ? failure! : `HTTP ${status}${snippet(response!.body)}`;
    if (status !== null && !retryableStatus(status)) {
      error += ' (not retried: only 5xx, 408, 429 and connection errors are)';
      outcome = { startedAt, durationMs, code: status, error, status: 'failed' };
    } else {
      const wait = status === 429 || status === 503 ? (retryAfterMs(response!.headers, finishedAt) ?? 0) : 0;
      const next = verdict(sender.retryDelayMs, attempt, finishedAt, row.give_up_at ?? finishedAt, wait);
      const summary = next.gaveUp ? `gave up after ${attempt} attempt${attempt === 1 ? '' : 's'} within the retry window: ${error}` : undefined;
      outcome = { startedAt, durationMs, code: status, error, summary, ...next };
    }
  }
  await sender.store.write(() => recordAttemptOp(sender.owner, row, outcome));
  return {
    type: 'forward',
    id: delivery.id,
    provider: delivery.provider,
    event_type: delivery.event_type,
    url: redactUrl(url),
    attempt,
    http_status: status,
    latency_ms: durationMs,
    status: outcome.status === 'done' ? 'delivered' : outcome.status === 'pending' ? 'retrying' : 'failed',
    ...(outcome.nextAttemptAt !== undefined ? { next_attempt_at: new Date(outcome.nextAttemptAt).toISOString() } : {}),
    ...(error ? { error: outcome.summary ?? error } : {}),
  };
}
