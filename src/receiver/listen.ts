import type { CliContext } from '../cli/context.js';
import { SqliteStore } from '../store/store.js';
import { ouraDocumentFetcher } from './oura-fetch.js';
import { runListenOn, type ListenOptions } from './listen-run.js';
import type { PublicPlan } from '../tunnels/listen-plan.js';
import type { ReconcilePlan } from './reconcile-plan.js';

/**
 * `wearhook listen` on a SQLite file: the receiver writes through its group commit on the
 * file's connection, and everything around it (listen-run.ts) uses the same connection.
 */
export async function runListen(ctx: CliContext, options: ListenOptions, publicPlan?: PublicPlan, reconcilePlan?: ReconcilePlan): Promise<void> {
  const db = ctx.openDb();
  const engine = {
    store: new SqliteStore(db, ctx.dbPath),
    receiver: { db, fetchOuraDocument: ouraDocumentFetcher(db, ctx.settings) },
    close: async () => ctx.close(),
  };
  await runListenOn(ctx, options, engine, publicPlan, reconcilePlan);
}
