import type { Output } from '../cli/output.js';
import { errorMessage } from '../errors.js';
import type { SubscriptionKeeper } from '../subscriptions/keeper.js';
import type { HealthProbe } from './health.js';
import { TunnelSupervisor, type TunnelDown, type TunnelUp } from './supervisor.js';
import type { LocalTarget, TunnelProvider } from './tunnel.js';

/**
 * The public half of a `listen` run: the tunnel kept alive by the supervisor, and with
 * `--subscribe` the run's Oura subscriptions; it tells `listen` when an outage ends (catch-up).
 */

/** The receiver's routes a sender is given, by provider. */
export const CALLBACK_ROUTES: ReadonlyArray<[string, string]> = [
  ['Oura', '/oura'],
  ['Vital', '/vital'],
  ['Open Wearables', '/open-wearables'],
  ['Standard Webhooks', '/standard'],
  ['Corsano', '/corsano'],
];

export interface PublicSideOptions {
  provider: TunnelProvider;
  target: LocalTarget;
  probe: HealthProbe;
  healthIntervalMs: number;
  output: Output;
  subscriptions?: {
    keeper: SubscriptionKeeper;
    /** Delete them at the end unless true. */
    keep: boolean;
    renewCheckMs?: number;
  };
  /** The public URL reaches this run again after an outage: what Oura sent meanwhile is lost (listen reconciles). Absent with --no-catch-up. */
  afterOutage?: () => void;
}

/** Whether the public URL reaches this run, since when, and why not. */
export interface PublicHealth {
  publicUrl: string;
  state: 'up' | 'down';
  since: Date;
  reason?: string;
}

export interface PublicSide {
  readonly publicUrl: string;
  readonly health: PublicHealth;
  /** Called on every change of health (the web console shows it). */
  onHealth(listener: (health: PublicHealth) => void): void;
  /**
   * Once `listen` has said it is ready: make the subscriptions (Oura's challenge comes through
   * the tunnel at once), then keep renewing them. Rejects when no subscription could be made;
   * stop() still cleans up.
   */
  begin(): Promise<void>;
  stop(): Promise<void>;
}

const RENEW_CHECK_MS = 60 * 60_000;

export async function startPublicSide(opts: PublicSideOptions): Promise<PublicSide> {
  const { output } = opts;
  let stopping = false;
  /** Background work (moving subscriptions, renewals), one at a time and awaited at the end. */
  let work: Promise<void> = Promise.resolve();
  const inBackground = (what: string, task: () => Promise<void>) => {
    work = work.then(async () => {
      if (stopping) return;
      try {
        await task();
      } catch (err) {
        output.warn(`${what} failed: ${errorMessage(err)}`);
      }
    });
  };

  let health: PublicHealth | undefined;
  const healthListeners: ((health: PublicHealth) => void)[] = [];
  const setHealth = (next: PublicHealth) => {
    health = next;
    for (const listener of healthListeners) listener(next);
  };

  const supervisor = new TunnelSupervisor({
    provider: opts.provider,
    target: opts.target,
    probe: opts.probe,
    intervalMs: opts.healthIntervalMs,
    onDown: (event) => {
      setHealth({ publicUrl: event.publicUrl, state: 'down', since: event.since, reason: event.reason });
      reportDown(output, event, opts.provider.reconnectable);
    },
    onRetry: ({ attempt, delayMs, reason }) =>
      output.log(output.errColor.yellow(`tunnel: reconnect attempt ${attempt} failed (${reason}); next in ${formatSeconds(delayMs)}`)),
    onUp: (event) => {
      setHealth({ publicUrl: event.publicUrl, state: 'up', since: new Date() });
      reportUp(output, event);
      const keeper = opts.subscriptions?.keeper;
      if (keeper && event.previousUrl) inBackground('moving the subscriptions', () => keeper.move(`${event.publicUrl}/oura`));
      // Whatever Oura sent during the outage is gone: poll for it.
      if (!stopping) opts.afterOutage?.();
    },
  });

  const firstUrl = await supervisor.start();
  health ??= { publicUrl: firstUrl, state: 'up', since: new Date() };
  announce(output, firstUrl);

  let renewTimer: NodeJS.Timeout | undefined;
  const subs = opts.subscriptions;
  return {
    get publicUrl() {
      return supervisor.publicUrl;
    },
    get health() {
      return health!;
    },
    onHealth(listener) {
      healthListeners.push(listener);
    },
    async begin() {
      if (subs) {
        await subs.keeper.subscribe(`${supervisor.publicUrl}/oura`);
        await subs.keeper.renewDue();
        renewTimer = setInterval(() => inBackground('renewing the subscriptions', () => subs.keeper.renewDue()), subs.renewCheckMs ?? RENEW_CHECK_MS);
      }
    },
    async stop() {
      stopping = true;
      clearInterval(renewTimer);
      await work;
      if (subs) await subs.keeper.release(subs.keep).catch((err: unknown) => output.warn(`could not release the subscriptions: ${errorMessage(err)}`));
      await supervisor.stop();
    },
  };
}

/** The URL to give senders, impossible to miss. */
function announce(output: Output, publicUrl: string): void {
  const c = output.errColor;
  const width = Math.max(...CALLBACK_ROUTES.map(([name]) => name.length));
  output.log('');
  output.log(c.bold.green(`  public URL: ${publicUrl}`));
  for (const [name, route] of CALLBACK_ROUTES) output.log(`    ${name.padEnd(width)}  ${publicUrl}${route}`);
  output.log('');
}

function reportDown(output: Output, event: TunnelDown, reconnecting: boolean): void {
  const c = output.errColor;
  output.log(
    c.bold.red(
      `TUNNEL DOWN since ${event.since.toISOString()}: ${event.publicUrl} no longer reaches wearhook (${event.reason}). Deliveries sent now are lost; ${reconnecting ? 'reconnecting' : 'checking until it answers again'}.`,
    ),
  );
  if (output.json) {
    output.ndjson({ type: 'tunnel', state: 'down', public_url: event.publicUrl, since: event.since.toISOString(), reason: event.reason });
  }
}

function reportUp(output: Output, event: TunnelUp): void {
  const c = output.errColor;
  const downFor = event.downForMs ?? 0;
  const where = event.previousUrl ? ` on a NEW URL ${event.publicUrl} (was ${event.previousUrl})` : ` at ${event.publicUrl}`;
  output.log(c.bold.green(`tunnel back up after ${formatSeconds(downFor)} down${where}`));
  if (event.previousUrl) announce(output, event.publicUrl);
  if (output.json) {
    output.ndjson({
      type: 'tunnel',
      state: 'up',
      public_url: event.publicUrl,
      down_for_s: Math.round(downFor / 100) / 10,
      ...(event.previousUrl ? { previous_url: event.previousUrl } : {}),
    });
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
