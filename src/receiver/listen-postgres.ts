import type { CliContext } from '../cli/context.js';
import { storeLocation } from '../store/location.js';
import { openStore } from '../store/open.js';
import { runListenOn, type ListenOptions } from './listen-run.js';
import { ouraDocumentFetcher, SHARED_FETCH_PACE } from './oura-fetch.js';
import type { PublicPlan } from '../tunnels/listen-plan.js';
import type { ReconcilePlan } from './reconcile-plan.js';

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
 * each sent or run once across the processes. Around the receiver, as on SQLite (listen-run.ts):
 * with a public side, subscriptions are renewed by one process at a time and kept when one
 * stops, and remote enrolment's pages are served (a consent begun at one receiver may end at
 * another: its state is in the database); reconciliation runs one pass at a time under its
 * lease; `--ui` serves the console beside it.
 */
export async function runListenPostgres(ctx: CliContext, options: PostgresListenOptions, publicPlan?: PublicPlan, reconcilePlan?: ReconcilePlan): Promise<void> {
  const store = await openStore(storeLocation(ctx.dbPath));
  const pace = { ...SHARED_FETCH_PACE, ...(options.ouraFetchRate ? { perSecond: options.ouraFetchRate, burst: 1 } : {}) };
  const engine = {
    store,
    receiver: { store, fetchOuraDocument: ouraDocumentFetcher(store, ctx.settings, pace) },
    close: () => store.close(),
  };
  await runListenOn(ctx, options, engine, publicPlan, reconcilePlan);
}
