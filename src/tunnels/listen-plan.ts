import type { CliContext } from '../cli/context.js';
import { HttpClient } from '../net/http-client.js';
import { UsageError } from '../errors.js';
import type { SubscriptionKeeper } from '../subscriptions/keeper.js';
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

function subscriptionPlan(_ctx: CliContext, _flags: PublicFlags): { keeper: () => SubscriptionKeeper; catchUp?: (shouldStop: () => boolean) => Promise<void> } {
  // The Oura subscription core (issue 4) is not in this build yet.
  throw new UsageError('--subscribe is not available yet; run `wearhook subs create --callback-url <public URL>/oura` while listen runs.');
}
