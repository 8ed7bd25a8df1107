import { createHmac } from 'node:crypto';
import type { CliContext } from '../cli/context.js';
import { isPostgresUrl } from '../store/location.js';
import { HttpClient } from '../net/http-client.js';
import { UsageError } from '../errors.js';
import { CALLBACK_VERIFICATION_HELP, CallbackVerificationError, OuraSubscriptionsApi } from '../providers/oura/subscriptions-api.js';
import { OURA_WEBHOOK_DATA_TYPES, isKnownWebhookDataType } from '../providers/oura/data-types.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import type { Store } from '../store/store.js';
import { newClaimOwner } from '../store/claims.js';
import { acquireLeaseOp, releaseLeaseOp } from '../store/leases.js';
import { createSubscriptions, deleteSubscriptions, listAndSync, renewSubscriptions, type SubscriptionDeps } from '../subscriptions/core.js';
import { SubscriptionKeeper, type KeeperLog, type SubscriptionOps } from '../subscriptions/keeper.js';
import { createHealthKey, createHealthProbe } from './health.js';
import { chooseTunnel } from './index.js';
import { startPublicSide, type PublicSide } from './public-side.js';
import type { LocalTarget, TunnelKind } from './tunnel.js';

/** The `listen` flags about the public side. */
export interface PublicFlags {
  tunnel: TunnelKind;
  tunnelServer?: string;
  publicUrl?: string;
  healthInterval?: number;
  subscribe?: boolean;
  dataType?: string[];
  all?: boolean;
  keepSubscriptions?: boolean;
  catchUp: boolean;
  renewCheck?: number;
}

/** What `listen` needs to open the public side once its receiver runs. */
export interface PublicPlan {
  /** Given to the receiver so that the health check through the tunnel can tell it is this run. */
  healthKey: Buffer;
  /**
   * `afterOutage` is called whenever the public URL reaches this run again after it did not.
   * The subscriptions are kept in `store` (the run's: SQLite or PostgreSQL).
   */
  start(target: LocalTarget, afterOutage: (() => void) | undefined, store: Store): Promise<PublicSide>;
}

const DEFAULT_HEALTH_INTERVAL_S = 30;

/**
 * The health key of the receivers of one PostgreSQL database: behind one public URL (a load
 * balancer), a probe sent by one receiver may be answered by another, which must prove it is
 * a wearhook of the same database. Derived from the database URL (its password included),
 * which every one of them has (the same WEARHOOK_DB) and nobody else.
 */
function sharedHealthKey(databaseUrl: string): Buffer {
  return createHmac('sha256', databaseUrl).update('wearhook listen health').digest();
}

/**
 * Check the flags and the settings they need before anything starts, so that a missing
 * program, token or credential is a usage error with its fix rather than a half-started run.
 */
export async function planPublicSide(ctx: CliContext, flags: PublicFlags): Promise<PublicPlan | undefined> {
  // --data-type and --all also name what `listen --reconcile` reconciles: reconcile-plan.ts checks them.
  const subscribeOnly = [
    ['--keep-subscriptions', flags.keepSubscriptions === true],
    ['--no-catch-up', !flags.catchUp],
    ['--renew-check', flags.renewCheck !== undefined],
  ] as const;
  if (!flags.subscribe) {
    const stray = subscribeOnly.filter(([, given]) => given).map(([name]) => name);
    if (stray.length > 0) throw new UsageError(`${stray.join(', ')} only apply with --subscribe.`);
  }
  if (flags.tunnelServer && flags.tunnel !== 'localtunnel') {
    throw new UsageError('--tunnel-server names a localtunnel server: use it with --tunnel localtunnel.');
  }
  const http = new HttpClient({ maxRetries: 0 });
  const provider = await chooseTunnel({
    kind: flags.tunnel,
    publicUrl: flags.publicUrl,
    localtunnelHost: flags.tunnelServer ?? ctx.settings.get('tunnel.localtunnelHost')!,
    ngrokAuthtoken: ctx.settings.get('ngrok.authtoken'),
    http,
  });
  if (!provider) {
    if (flags.subscribe) {
      throw new UsageError('--subscribe needs a public URL for Oura to call: add --tunnel localtunnel (or ngrok, cloudflared), or --public-url URL.');
    }
    if (flags.healthInterval !== undefined) throw new UsageError('--health-interval only applies with --tunnel or --public-url.');
    return undefined;
  }

  const subscription = flags.subscribe ? subscriptionPlan(ctx, flags) : undefined;
  const healthKey = isPostgresUrl(ctx.dbPath) ? sharedHealthKey(ctx.dbPath) : createHealthKey();
  return {
    healthKey,
    start: (target, afterOutage, store) =>
      startPublicSide({
        provider,
        target,
        probe: createHealthProbe(http, healthKey),
        healthIntervalMs: (flags.healthInterval ?? DEFAULT_HEALTH_INTERVAL_S) * 1000,
        output: ctx.output,
        subscriptions: subscription && {
          keeper: subscription.keeper(store),
          // Several receivers on one PostgreSQL database rely on the same subscriptions: one stopping keeps them.
          keep: flags.keepSubscriptions === true || store.dialect === 'postgres',
          renewCheckMs: flags.renewCheck,
        },
        afterOutage,
      }),
  };
}

/**
 * The lease under which a `listen` renews the subscriptions: of several processes on one
 * database, one renews at a time, and the next one lists them renewed. A holder that dies
 * frees it at once on its own machine, after RENEW_LEASE_MS elsewhere.
 */
export const RENEW_LEASE = 'subscriptions:oura';
const RENEW_LEASE_MS = 5 * 60_000;

function subscriptionPlan(ctx: CliContext, flags: PublicFlags) {
  if (flags.all && flags.dataType) throw new UsageError('Give either --data-type or --all, not both.');
  if (!flags.all && !flags.dataType) {
    throw new UsageError('--subscribe needs the data types to subscribe to: --data-type sleep,daily_readiness,... or --all.');
  }
  const dataTypes = flags.all ? [...OURA_WEBHOOK_DATA_TYPES] : [...new Set(flags.dataType)];
  // Missing credentials are a usage error naming the variables, before anything starts.
  const api = OuraSubscriptionsApi.fromSettings(ctx.settings, ouraHttpClient());
  const { output } = ctx;
  for (const t of dataTypes.filter((d) => !isKnownWebhookDataType(d))) {
    output.warn(`"${t}" is not a data type Oura's API 1.27 documents; passing it on as is (newer versions add data types).`);
  }
  const log = { info: (text: string) => output.log(text), warn: (text: string) => output.warn(text) };
  const keeperLog: KeeperLog = {
    ...log,
    subscribed: (callbackUrl, held) => {
      if (!output.json) return;
      const subscriptions = held.map(({ id, event_type, data_type, expiration_time }) => ({ id, event_type, data_type, expiration_time }));
      output.ndjson({ type: 'subscribed', callback_url: callbackUrl, subscriptions });
    },
  };

  const keeper = (store: Store) => {
    const deps: SubscriptionDeps = { api, store };
    const owner = newClaimOwner();
    const ops: SubscriptionOps = {
      list: () => listAndSync(deps),
      create: async (callbackUrl, types) => {
        const outcomes = await createSubscriptions(deps, { callbackUrl, dataTypes: types });
        if (outcomes.some((o) => o.status === 'failed' && o.error instanceof CallbackVerificationError)) output.log(CALLBACK_VERIFICATION_HELP);
        return outcomes;
      },
      renew: (ids) => renewSubscriptions(deps, { ids }),
      delete: (ids) => deleteSubscriptions(deps, ids),
      exclusively: async (task) => {
        if (!(await store.run(acquireLeaseOp, RENEW_LEASE, owner, RENEW_LEASE_MS, Date.now()))) return false;
        try {
          await task();
        } finally {
          await store.run(releaseLeaseOp, RENEW_LEASE, owner);
        }
        return true;
      },
    };
    return new SubscriptionKeeper(ops, dataTypes, keeperLog);
  };

  return { keeper };
}
