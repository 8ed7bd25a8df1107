import os from 'node:os';
import type { CliContext } from '../cli/context.js';
import { buildProviders, providerConfigFromSettings, SECRET_SETTING } from '../providers/registry.js';
import { SETTINGS } from '../config/settings.js';
import { redactUrl } from '../config/setting-keys.js';
import { safeText } from '../cli/safe-text.js';
import { RuntimeError, errorMessage } from '../errors.js';
import { parseEventFilter } from './event-filter.js';
import { LiveLog } from './live-log.js';
import { STOP_TIMEOUT_MS, startReceiver, type Receiver, type ReceiverOptions } from './server.js';
import { isLoopbackAddress } from './loopback.js';
import type { PublicPlan } from '../tunnels/listen-plan.js';
import type { ReconcilePlan } from './reconcile-plan.js';
import type { Reconciler } from '../sync/reconciler.js';
import type { PublicHealth, PublicSide } from '../tunnels/public-side.js';
import type { ConsoleServer } from '../ui/server.js';
import { backoffMs } from '../forward/dispatcher.js';
import type { OutboxTargetSpec } from '../forward/targets.js';
import type { Store } from '../store/store.js';
import type { EnrolmentEvent } from '../participants/enrolment.js';
import { forgetPublicUrlOp, recordPublicUrlOp, updatePublicUrlOp } from '../store/enrolment.js';

export interface ListenOptions {
  port: number;
  host: string;
  /** `--forward-to [FILTER=]URL` and `--exec FILTER=COMMAND`, in the order given. */
  targets?: readonly OutboxTargetSpec[];
  /** `--retry-for`: how long forwards and hooks are retried (default 1 h). */
  retryForMs?: number;
  /** `--exec-timeout` (default 30 s). */
  hookTimeoutMs?: number;
  /** The first wait between attempts (tests shorten it; default 1 s, doubling up to a minute). */
  retryBaseMs?: number;
  events?: string;
  verificationToken?: string;
  json: boolean;
  /** `--ui`: the web console in this process, on a port of its own. */
  ui?: { port?: number; openBrowser: boolean };
}

/**
 * Resolves at the first SIGINT or SIGTERM; a second one ends the process at once (exit 1),
 * for whoever does not want to wait for the stop. `onForce` says so first.
 *
 * Other SIGINT/SIGTERM listeners are removed: conf's exit hook (when-exit) re-raises the
 * signal it sees, which would look like a second signal. Its cleanup still runs, on 'exit'.
 */
export function untilStopSignal(onForce: (signal: NodeJS.Signals) => void = () => {}): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let first: NodeJS.Signals | undefined;
    const stop = (signal: NodeJS.Signals) => {
      dropOtherListeners();
      if (first === undefined) {
        first = signal;
        resolve(signal);
        return;
      }
      onForce(signal);
      process.exit(1);
    };
    const dropOtherListeners = () => {
      for (const name of ['SIGINT', 'SIGTERM'] as const) {
        for (const listener of process.listeners(name)) if (listener !== stop) process.off(name, listener);
      }
    };
    dropOtherListeners();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Why the receiver could not start, in one sentence. */
export function startFailure(options: Pick<ListenOptions, 'host' | 'port'>, err: unknown): RuntimeError {
  if ((err as { code?: string }).code === 'EADDRINUSE') {
    return new RuntimeError(`Port ${options.port} on ${options.host} is already in use; stop the other program or pick another --port (0 picks a free one).`);
  }
  return new RuntimeError(`The receiver could not start on ${options.host}:${options.port}: ${errorMessage(err)}`);
}

/** The receiver's forward and hook settings from `listen`'s flags. */
export function outboxTuning(options: Pick<ListenOptions, 'retryForMs' | 'hookTimeoutMs' | 'retryBaseMs'>): ReceiverOptions['outbox'] {
  return {
    retryForMs: options.retryForMs,
    hookTimeoutMs: options.hookTimeoutMs,
    ...(options.retryBaseMs ? { retryDelayMs: (attempt: number) => backoffMs(attempt, options.retryBaseMs) } : {}),
  };
}

/** One line per `--forward-to` and `--exec` at start: what goes where. */
export function announceTargets(ctx: CliContext, targets: readonly OutboxTargetSpec[] = []): void {
  for (const target of targets) {
    const which = target.filterText ? `${target.filterText} deliveries` : 'every delivery';
    ctx.output.log(target.kind === 'forward' ? `forwarding ${which} to ${redactUrl(target.url)}` : `running \`${safeText(target.command)}\` after the work of ${which}`);
  }
}

/** What an engine's `listen` brings to the run: SQLite (listen.ts) or PostgreSQL (listen-postgres.ts). */
export interface ListenEngine {
  /** The store of the run's public side, remote enrolment, reconciliation and public URL record. */
  store: Store;
  /** The receiver's options of this engine: where it stores (`db`, SQLite's group commit, or `store`) and how it fetches Oura documents. */
  receiver: Pick<ReceiverOptions, 'db' | 'store' | 'fetchOuraDocument'>;
  /** Close what the engine opened, last. */
  close(): Promise<void>;
}

/**
 * `wearhook listen` on either engine: run the receiver until SIGINT/SIGTERM with, around it,
 * what both engines share: remote enrolment's pages and the public side (tunnel, health,
 * subscriptions, the public URL recorded for `participants invite`), the console with `--ui`
 * and reconciliation. Then stop accepting, finish the requests in flight, let running work
 * finish (what does not is resumed next time), close the store.
 */
export async function runListenOn(ctx: CliContext, options: ListenOptions, engine: ListenEngine, publicPlan?: PublicPlan, reconcilePlan?: ReconcilePlan): Promise<void> {
  const { store } = engine;
  const eventFilter = parseEventFilter(options.events);
  const providers = buildProviders(providerConfigFromSettings(ctx.settings));
  const log = new LiveLog(ctx.output, options.json);
  // `--ui`: the console reads the same database through a store of its own; this run tells it its answer times.
  const live = options.ui ? new (await import('../ui/live.js')).LiveFeed() : undefined;
  // Remote enrolment needs a public URL: its pages are served only with a public side. Its
  // state is in the database, so a consent begun at one receiver may end at another.
  let publicSide: PublicSide | undefined;
  let receiver: Receiver | undefined;
  const enrolment = publicPlan ? await import('../participants/enrolment.js') : undefined;
  const routes = enrolment?.enrolmentRoutes({
    store,
    settings: ctx.settings,
    publicUrl: () => publicSide?.publicUrl,
    onEvent: (event) => {
      reportEnrolment(ctx, options.json, event);
      // Deliveries that waited for this user are due now: fetch them at once.
      if (event.status === 'enrolled') receiver?.wake();
    },
  });

  try {
    receiver = await startReceiver({
      ...engine.receiver,
      host: options.host,
      port: options.port,
      providers,
      verificationToken: options.verificationToken,
      targets: options.targets,
      outbox: outboxTuning(options),
      eventFilter,
      onEvent: (event) => {
        log.event(event);
        live?.receiverEvent(event);
      },
      healthKey: publicPlan?.healthKey,
      routes,
    });
  } catch (err) {
    await engine.close();
    throw startFailure(options, err);
  }

  const stopped = untilStopSignal((signal) => {
    ctx.output.log(`${signal} again: stopping at once; unfinished work resumes on the next start`);
  });
  // The receiver answers first: the tunnel's health check and Oura's challenge go through it.
  let consoleServer: ConsoleServer | undefined;
  let recorded: RecordedUrl | undefined;
  let reconciler: Reconciler | undefined;
  // What Oura sent while the public URL did not reach this run is lost: reconcile at once.
  const afterOutage = reconcilePlan?.afterOutage ? () => reconciler?.request('outage') : undefined;
  try {
    if (publicPlan) {
      ctx.output.log(`receiver on ${receiver.url}; opening the public side...`);
      // Its state in the store: on a shared database one process at a time renews the subscriptions (leases.ts).
      publicSide = await publicPlan.start({ host: options.host, port: receiver.port }, afterOutage, store);
      recorded = await recordRunUrl(ctx, store, publicSide);
      ctx.output.log(
        `remote enrolment: \`wearhook participants invite LABEL\` makes links on ${publicSide.publicUrl}/enroll/...; register ${publicSide.publicUrl}/oauth/callback as a redirect URI of your Oura application`,
      );
    }
    ctx.output.log(`database ${store.shown}`);
    log.ready(receiver.url, { db: store.shown, ...(publicSide ? { public_url: publicSide.publicUrl } : {}) });
    if (live && options.ui) {
      live.receiverUrl = receiver.url;
      if (publicSide) {
        const show = (h: PublicHealth) => live.setTunnel({ ...h, since: h.since.toISOString() });
        show(publicSide.health);
        publicSide.onHealth(show);
      }
      const { openConsole } = await import('../ui/run.js');
      consoleServer = await openConsole(ctx, { ...options.ui, live, receiverPort: receiver.port });
    }
    await publicSide?.begin();
    // After the subscriptions: the first pass catches up on what was sent while wearhook was stopped.
    reconciler = reconcilePlan?.start(ctx, store);
  } catch (err) {
    await consoleServer?.close();
    await receiver.close();
    await publicSide?.stop();
    await recorded?.forget();
    await engine.close();
    throw err;
  }
  warnAtStart(ctx, options, providers);
  announceTargets(ctx, options.targets);

  const signal = await stopped;
  ctx.output.log(`stopping on ${signal}: finishing the requests in flight (at most ${STOP_TIMEOUT_MS / 1000} s; ${signal} again stops at once)...`);
  // A pass in progress ends with the user it is on (its waits end at once), alongside the receiver's stop.
  const reconciling = reconciler?.stop(STOP_TIMEOUT_MS);
  await consoleServer?.close();
  await receiver.close({ timeoutMs: STOP_TIMEOUT_MS });
  await reconciling;
  // Subscriptions are deleted (or kept) while the store is still open.
  await publicSide?.stop();
  await recorded?.forget();
  await engine.close();
  // The last line: nothing of this run is reported after it.
  log.stopped(receiver.stats);
}

/** A receiver reachable from the network, providers that refuse everything: said once at start. */
function warnAtStart(ctx: CliContext, options: ListenOptions, providers: ReturnType<typeof buildProviders>): void {
  if (!isLoopbackAddress(options.host) && options.host !== 'localhost') {
    ctx.output.warn(
      `the receiver listens on ${options.host}: it is reachable from the network, not only from this machine. Every delivery is still verified; to receive from the internet, a tunnel (--tunnel) keeps it on 127.0.0.1.`,
    );
  }
  const unsigned = [...providers.values()].filter((p) => !p.configured).map((p) => p.name);
  if (unsigned.length > 0) {
    ctx.output.warn(
      `no signing secret for ${unsigned.join(', ')}: their deliveries are refused (401). Set ${unsigned
        .map((name) => SETTINGS[SECRET_SETTING[name]].env)
        .join(', ')} or use \`wearhook config set\`.`,
    );
  }
}

interface RecordedUrl {
  forget(): Promise<void>;
}

/**
 * Record the run's public URL for `participants invite` (which other processes run), and keep
 * it current when a tunnel comes back on a new URL.
 */
async function recordRunUrl(ctx: CliContext, store: Store, side: PublicSide): Promise<RecordedUrl> {
  const id = await store.run(recordPublicUrlOp, { publicUrl: side.publicUrl, pid: process.pid, host: os.hostname() });
  let current = side.publicUrl;
  let forgotten = false;
  side.onHealth((health) => {
    if (health.publicUrl === current || forgotten) return;
    current = health.publicUrl;
    store.run(updatePublicUrlOp, id, current).catch((err: unknown) => ctx.output.warn(`the new public URL could not be recorded for \`participants invite\`: ${errorMessage(err)}`));
  });
  return {
    forget: async () => {
      forgotten = true;
      await store.run(forgetPublicUrlOp, id);
    },
  };
}

function reportEnrolment(ctx: CliContext, json: boolean, event: EnrolmentEvent): void {
  const who = event.label ?? 'an unknown link';
  const line =
    event.status === 'enrolled'
      ? `enrolment: ${who} enrolled as Oura user ${event.user_id}`
      : event.status === 'consent'
        ? `enrolment: ${who} opened their link; on to Oura's consent page`
        : `enrolment: ${who} ${event.status}: ${event.reason}`;
  const c = ctx.output.errColor;
  ctx.output.log(event.status === 'enrolled' ? c.green(line) : event.status === 'consent' ? line : c.yellow(line));
  if (json) ctx.output.ndjson(event);
}
