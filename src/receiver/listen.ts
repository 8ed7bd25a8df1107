import type { CliContext } from '../cli/context.js';
import { buildProviders, providerConfigFromSettings, SECRET_SETTING } from '../providers/registry.js';
import { SETTINGS } from '../config/settings.js';
import { redactUrl } from '../config/setting-keys.js';
import { RuntimeError, errorMessage } from '../errors.js';
import { parseEventFilter } from './event-filter.js';
import { LiveLog } from './live-log.js';
import { STOP_TIMEOUT_MS, startReceiver } from './server.js';
import { isLoopbackAddress } from './loopback.js';
import { ouraDocumentFetcher } from './oura-fetch.js';
import type { PublicPlan } from '../tunnels/listen-plan.js';
import type { ReconcilePlan } from './reconcile-plan.js';
import type { Reconciler } from '../sync/reconciler.js';
import type { PublicHealth, PublicSide } from '../tunnels/public-side.js';
import type { ConsoleServer } from '../ui/server.js';

export interface ListenOptions {
  port: number;
  host: string;
  forwardTo?: string;
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

/**
 * `wearhook listen`: run the receiver until SIGINT/SIGTERM, then stop accepting, finish the
 * requests in flight, let running work finish (what does not is resumed next time), close the store.
 */
export async function runListen(ctx: CliContext, options: ListenOptions, publicPlan?: PublicPlan, reconcilePlan?: ReconcilePlan): Promise<void> {
  const eventFilter = parseEventFilter(options.events);
  const providers = buildProviders(providerConfigFromSettings(ctx.settings));
  const log = new LiveLog(ctx.output, options.json);
  const db = ctx.openDb();
  const live = options.ui ? new (await import('../ui/live.js')).LiveFeed() : undefined;

  let receiver;
  try {
    receiver = await startReceiver({
      db,
      host: options.host,
      port: options.port,
      providers,
      fetchOuraDocument: ouraDocumentFetcher(db, ctx.settings),
      verificationToken: options.verificationToken,
      forwardTo: options.forwardTo,
      eventFilter,
      onEvent: (event) => {
        log.event(event);
        live?.receiverEvent(event);
      },
      healthKey: publicPlan?.healthKey,
    });
  } catch (err) {
    ctx.close();
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') {
      throw new RuntimeError(`Port ${options.port} on ${options.host} is already in use; stop the other program or pick another --port (0 picks a free one).`);
    }
    throw new RuntimeError(`The receiver could not start on ${options.host}:${options.port}: ${errorMessage(err)}`);
  }

  const stopped = untilStopSignal((signal) => {
    ctx.output.log(`${signal} again: stopping at once; unfinished work resumes on the next start`);
  });
  // The receiver answers first: the tunnel's health check and Oura's challenge go through it.
  let publicSide: PublicSide | undefined;
  let consoleServer: ConsoleServer | undefined;
  let reconciler: Reconciler | undefined;
  // What Oura sent while the public URL did not reach this run is lost: reconcile at once.
  const afterOutage = reconcilePlan?.afterOutage ? () => reconciler?.request('outage') : undefined;
  try {
    if (publicPlan) {
      ctx.output.log(`receiver on ${receiver.url}; opening the public side...`);
      publicSide = await publicPlan.start({ host: options.host, port: receiver.port }, afterOutage);
    }
    ctx.output.log(`database ${ctx.dbPath}`);
    log.ready(receiver.url, { db: ctx.dbPath, ...(publicSide ? { public_url: publicSide.publicUrl } : {}) });
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
    reconciler = reconcilePlan?.start(ctx, db);
  } catch (err) {
    await consoleServer?.close();
    await receiver.close();
    await publicSide?.stop();
    ctx.close();
    throw err;
  }
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
  if (options.forwardTo) ctx.output.log(`forwarding accepted deliveries to ${redactUrl(options.forwardTo)}`);

  const signal = await stopped;
  ctx.output.log(`stopping on ${signal}: finishing the requests in flight (at most ${STOP_TIMEOUT_MS / 1000} s; ${signal} again stops at once)...`);
  // A pass in progress ends with the user it is on (its waits end at once), alongside the receiver's stop.
  const reconciling = reconciler?.stop(STOP_TIMEOUT_MS);
  await consoleServer?.close();
  await receiver.close({ timeoutMs: STOP_TIMEOUT_MS });
  await reconciling;
  // Subscriptions are deleted (or kept) while the store is still open.
  await publicSide?.stop();
  ctx.close();
  // The last line: nothing of this run is reported after it.
  log.stopped(receiver.stats);
}
