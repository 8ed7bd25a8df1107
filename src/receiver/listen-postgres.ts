import type { CliContext } from '../cli/context.js';
import { buildProviders, providerConfigFromSettings } from '../providers/registry.js';
import { storeLocation } from '../store/location.js';
import { openStore } from '../store/open.js';
import { parseEventFilter } from './event-filter.js';
import { LiveLog } from './live-log.js';
import { STOP_TIMEOUT_MS, startReceiver } from './server.js';
import { announceTargets, outboxTuning, startFailure, untilStopSignal, type ListenOptions } from './listen.js';
import { ouraDocumentFetcher, SHARED_FETCH_PACE } from './oura-fetch.js';
import type { PublicPlan } from '../tunnels/listen-plan.js';
import type { PublicHealth, PublicSide } from '../tunnels/public-side.js';
import type { ReconcilePlan } from './reconcile-plan.js';
import type { Reconciler } from '../sync/reconciler.js';
import type { ConsoleServer } from '../ui/server.js';

/** What `listen` on PostgreSQL takes besides the common options. */
export interface PostgresListenOptions extends ListenOptions {
  /** Oura requests per second that every receiver on the database shares for its fetches (default SHARED_FETCH_PACE). */
  ouraFetchRate?: number;
}

/**
 * `wearhook listen --db postgres://...`: the receiver on PostgreSQL. Several such processes,
 * on one machine or several behind a load balancer, share one database: a delivery is stored
 * once (its dedupe key is unique), acknowledged after its transaction commits, and its work is
 * claimed by one process (FOR UPDATE SKIP LOCKED, with a lease that another process takes over
 * when the holder dies), and Oura documents are fetched at one pace that all of them share
 * (oura-fetch.ts, store/paces.ts). Forwards and hooks (the outbox) are claimed the same way,
 * each sent or run once across the processes. With a public side, subscriptions are renewed by
 * one process at a time and kept when one stops; reconciliation runs one pass at a time under
 * its lease. `--ui` serves the console beside it. Remote enrolment is SQLite-only for now.
 */
export async function runListenPostgres(ctx: CliContext, options: PostgresListenOptions, publicPlan?: PublicPlan, reconcilePlan?: ReconcilePlan): Promise<void> {
  const eventFilter = parseEventFilter(options.events);
  const providers = buildProviders(providerConfigFromSettings(ctx.settings));
  const log = new LiveLog(ctx.output, options.json);
  const location = storeLocation(ctx.dbPath);
  const store = await openStore(location);
  // `--ui`: the console reads the same database through a store of its own; this run tells it its answer times.
  const live = options.ui ? new (await import('../ui/live.js')).LiveFeed() : undefined;
  let receiver;
  try {
    receiver = await startReceiver({
      store,
      host: options.host,
      port: options.port,
      providers,
      fetchOuraDocument: ouraDocumentFetcher(store, ctx.settings, {
        ...SHARED_FETCH_PACE,
        ...(options.ouraFetchRate ? { perSecond: options.ouraFetchRate, burst: 1 } : {}),
      }),
      verificationToken: options.verificationToken,
      targets: options.targets,
      outbox: outboxTuning(options),
      eventFilter,
      onEvent: (event) => {
        log.event(event);
        live?.receiverEvent(event);
      },
      healthKey: publicPlan?.healthKey,
    });
  } catch (err) {
    await store.close();
    throw startFailure(options, err);
  }
  const stopped = untilStopSignal((signal) => {
    ctx.output.log(`${signal} again: stopping at once; unfinished work resumes on the next start`);
  });
  // The public side and reconciliation as on SQLite (listen.ts), their state in the shared store:
  // one process at a time renews the subscriptions and runs a pass (leases.ts).
  let publicSide: PublicSide | undefined;
  let reconciler: Reconciler | undefined;
  let consoleServer: ConsoleServer | undefined;
  const afterOutage = reconcilePlan?.afterOutage ? () => reconciler?.request('outage') : undefined;
  try {
    if (publicPlan) {
      ctx.output.log(`receiver on ${receiver.url}; opening the public side...`);
      publicSide = await publicPlan.start({ host: options.host, port: receiver.port }, afterOutage, store);
    }
    ctx.output.log(`database ${location.shown}`);
    log.ready(receiver.url, { db: location.shown, ...(publicSide ? { public_url: publicSide.publicUrl } : {}) });
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
    reconciler = reconcilePlan?.start(ctx, store);
  } catch (err) {
    await consoleServer?.close();
    await receiver.close();
    await publicSide?.stop();
    await store.close();
    throw err;
  }
  announceTargets(ctx, options.targets);
  const signal = await stopped;
  ctx.output.log(`stopping on ${signal}: finishing the requests in flight (at most ${STOP_TIMEOUT_MS / 1000} s; ${signal} again stops at once)...`);
  await consoleServer?.close();
  const reconciling = reconciler?.stop(STOP_TIMEOUT_MS);
  await receiver.close({ timeoutMs: STOP_TIMEOUT_MS });
  await reconciling;
  await publicSide?.stop();
  await store.close();
  log.stopped(receiver.stats);
}
