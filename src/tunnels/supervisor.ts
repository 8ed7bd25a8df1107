import { RuntimeError, errorMessage } from '../errors.js';
import type { HealthProbe } from './health.js';
import type { LocalTarget, TunnelProvider, TunnelSession } from './tunnel.js';

/**
 * Keeps a public URL answering: probes it end to end at an interval, and when it stops
 * answering says so, tears the tunnel down and opens a new one with jittered exponential
 * backoff until this run answers again. Tunnels die silently; this is what notices.
 */

export interface TunnelUp {
  publicUrl: string;
  /** Set when this ends an outage. */
  downForMs?: number;
  /** Set when the outage ended on a different URL. */
  previousUrl?: string;
}

export interface TunnelDown {
  publicUrl: string;
  since: Date;
  reason: string;
}

export interface SupervisorOptions {
  provider: TunnelProvider;
  target: LocalTarget;
  probe: HealthProbe;
  intervalMs: number;
  /** How long a fresh tunnel may take before requests through it reach us (quick tunnels need DNS). */
  settleMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  now?: () => number;
  onUp?: (event: TunnelUp) => void | Promise<void>;
  onDown?: (event: TunnelDown) => void;
  /** Each failed reconnect attempt, before the wait. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

const SETTLE_POLL_MS = 1000;

export class TunnelSupervisor {
  private session: TunnelSession | undefined;
  private url: string | undefined;
  private stopped = false;
  private checking = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly opts: SupervisorOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
  }

  get publicUrl(): string {
    if (!this.url) throw new Error('the tunnel is not open');
    return this.url;
  }

  /** Open the tunnel and wait until this run answers through it; a failure here is final. */
  async start(): Promise<string> {
    const { provider } = this.opts;
    let session: TunnelSession;
    try {
      session = await provider.open(this.opts.target);
    } catch (err) {
      throw new RuntimeError(`Could not open a tunnel with ${provider.description}: ${errorMessage(err).replace(/\.$/, '')}.`, { cause: err });
    }
    const failure = await this.settle(session.publicUrl);
    if (failure !== undefined) {
      await session.close();
      const { host, port } = this.opts.target;
      throw new RuntimeError(
        provider.reconnectable
          ? `The tunnel ${provider.description} gave ${session.publicUrl}, but requests through it do not reach wearhook (${failure}); check the tunnel or try another --tunnel.`
          : `${session.publicUrl} does not reach this wearhook (${failure}); make your tunnel or proxy forward it to http://${host.includes(':') ? `[${host}]` : host}:${port}.`,
      );
    }
    this.adopt(session);
    this.schedule();
    return session.publicUrl;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.session?.close();
    this.session = undefined;
  }

  private adopt(session: TunnelSession): void {
    this.session = session;
    this.url = session.publicUrl;
    // The provider noticed on its own: check now instead of at the next tick.
    session.onLost(() => {
      if (this.session === session) void this.check();
    });
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.opts.intervalMs);
  }

  /** One failed probe may be a lost request; two in a row are an outage. */
  private async check(): Promise<void> {
    if (this.checking || this.stopped || !this.url) return;
    this.checking = true;
    clearTimeout(this.timer);
    try {
      const url = this.url;
      let failure = await this.opts.probe(url);
      if (failure !== undefined && !this.stopped) failure = await this.opts.probe(url);
      if (this.stopped) return;
      if (failure === undefined) {
        this.schedule();
        return;
      }
      await this.recover(url, failure);
    } finally {
      this.checking = false;
    }
  }

  private async recover(lostUrl: string, reason: string): Promise<void> {
    const since = this.now();
    this.opts.onDown?.({ publicUrl: lostUrl, since: new Date(since), reason });
    const { provider } = this.opts;
    if (provider.reconnectable) {
      await this.session?.close();
      this.session = undefined;
    }
    for (let attempt = 1; !this.stopped; attempt++) {
      const failure = provider.reconnectable ? await this.reopen() : await this.opts.probe(lostUrl);
      if (this.stopped) return;
      if (failure === undefined) {
        const publicUrl = this.url!;
        await this.opts.onUp?.({
          publicUrl,
          downForMs: this.now() - since,
          ...(publicUrl !== lostUrl ? { previousUrl: lostUrl } : {}),
        });
        this.schedule();
        return;
      }
      const delayMs = this.backoff(attempt);
      this.opts.onRetry?.({ attempt, delayMs, reason: failure });
      await this.sleep(delayMs);
    }
  }

  /** A new tunnel that this run answers through, or why not. */
  private async reopen(): Promise<string | undefined> {
    let session: TunnelSession;
    try {
      session = await this.opts.provider.open(this.opts.target);
    } catch (err) {
      return errorMessage(err).replace(/\.$/, '');
    }
    const failure = this.stopped ? 'stopped' : await this.settle(session.publicUrl);
    if (failure !== undefined || this.stopped) {
      await session.close();
      return failure ?? 'stopped';
    }
    this.adopt(session);
    return undefined;
  }

  /** Probe a fresh URL until it answers or the settle time is over. */
  private async settle(url: string): Promise<string | undefined> {
    const deadline = this.now() + (this.opts.settleMs ?? 30_000);
    for (;;) {
      const failure = await this.opts.probe(url);
      if (failure === undefined || this.stopped || this.now() >= deadline) return failure;
      await this.sleep(Math.min(SETTLE_POLL_MS, Math.max(0, deadline - this.now())));
    }
  }

  /** Equal jitter: at least half the exponential step, so retries never bunch up at zero. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.opts.backoffMaxMs ?? 60_000, (this.opts.backoffBaseMs ?? 1000) * 2 ** (attempt - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  /** A wait that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
