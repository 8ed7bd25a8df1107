import type { CliContext } from '../cli/context.js';
import { HttpClient } from '../net/http-client.js';
import { RuntimeError, UsageError } from '../errors.js';
import { CALLBACK_VERIFICATION_HELP, CallbackVerificationError, OuraSubscriptionsApi } from '../providers/oura/subscriptions-api.js';
import { OURA_WEBHOOK_DATA_TYPES, isKnownWebhookDataType } from '../providers/oura/data-types.js';
import { planCatchUp, runCatchUp } from '../providers/oura/catch-up.js';
import { ouraHttpClient } from '../providers/oura/http.js';
import { getUser } from '../store/users.js';
import { createSubscriptions, deleteSubscriptions, listAndSync, renewSubscriptions, type SubscriptionDeps } from '../subscriptions/core.js';
import { SubscriptionKeeper, type KeeperLog, type SubscriptionOps } from '../subscriptions/keeper.js';
import { OURA_SYNC_TYPES, syncOura } from '../sync/oura.js';
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
  start(target: LocalTarget): Promise<PublicSide>;
}

const DEFAULT_HEALTH_INTERVAL_S = 30;

/**
 * Check the flags and the settings they need before anything starts, so that a missing
 * program, token or credential is a usage error with its fix rather than a half-started run.
 */
export async function planPublicSide(ctx: CliContext, flags: PublicFlags): Promise<PublicPlan | undefined> {
  const subscribeOnly = [
    ['--data-type', flags.dataType !== undefined],
    ['--all', flags.all === true],
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
  const healthKey = createHealthKey();
  return {
    healthKey,
    start: (target) =>
      startPublicSide({
        provider,
        target,
        probe: createHealthProbe(http, healthKey),
        healthIntervalMs: (flags.healthInterval ?? DEFAULT_HEALTH_INTERVAL_S) * 1000,
        output: ctx.output,
        subscriptions: subscription && {
          keeper: subscription.keeper(),
          keep: flags.keepSubscriptions === true,
          renewCheckMs: flags.renewCheck,
        },
        catchUp: subscription?.catchUp,
      }),
  };
}

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

  const keeper = () => {
    const deps: SubscriptionDeps = { api, db: ctx.openDb() };
    const ops: SubscriptionOps = {
      list: () => listAndSync(deps),
      create: async (callbackUrl, types) => {
        const outcomes = await createSubscriptions(deps, { callbackUrl, dataTypes: types });
        if (outcomes.some((o) => o.status === 'failed' && o.error instanceof CallbackVerificationError)) output.log(CALLBACK_VERIFICATION_HELP);
        return outcomes;
      },
      renew: (ids) => renewSubscriptions(deps, { ids }),
      delete: (ids) => deleteSubscriptions(deps, ids),
    };
    return new SubscriptionKeeper(ops, dataTypes, keeperLog);
  };

  const syncTypes = dataTypes.filter((t) => OURA_SYNC_TYPES.includes(t));
  const catchUp =
    flags.catchUp && syncTypes.length > 0
      ? async (shouldStop: () => boolean) => {
          const db = ctx.openDb();
          const deps = { db, settings: ctx.settings, http: ouraHttpClient() };
          await runCatchUp(
            planCatchUp(db),
            async (range) => {
              const user = getUser(db, 'oura', range.userId);
              if (!user) return; // logged out since the plan was made
              const summary = await syncOura(deps, { from: range.from, to: range.to, types: syncTypes, users: [user], kind: 'catch-up' });
              const result = summary.users[0]!;
              if (!result.ok) throw new RuntimeError(result.error ?? 'sync failed');
              const counts = result.types.reduce((sum, t) => ({ new: sum.new + t.new, updated: sum.updated + t.updated }), { new: 0, updated: 0 });
              output.log(`catch-up: Oura user ${range.label ?? range.userId}: ${counts.new} new, ${counts.updated} updated documents`);
              if (output.json) output.ndjson({ type: 'catch-up', user_id: range.userId, from: range.from, to: range.to, ...counts });
            },
            log,
            shouldStop,
          );
        }
      : undefined;
  return { keeper, catchUp };
}
