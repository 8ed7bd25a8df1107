import { RuntimeError, errorMessage } from '../errors.js';

/**
 * The Oura subscriptions of one `listen --subscribe` run: made for its public URL once the
 * tunnel answers, renewed while the run lasts, moved when the tunnel comes back on another
 * URL, and deleted when it ends (unless the user keeps them).
 */

export interface HeldSubscription {
  id: string;
  event_type: string;
  data_type: string;
  expiration_time: string | null;
}

/** The results of the `subs` core, as far as a run needs them. */
export type CreateResult =
  | { event_type: string; data_type: string; status: 'created' | 'exists'; subscription: HeldSubscription }
  | { event_type: string; data_type: string; status: 'failed'; error: Error };
export type RenewResult = { id: string; status: 'renewed'; subscription: HeldSubscription } | { id: string; status: 'failed'; error: Error };
export type DeleteResult = { id: string; status: 'deleted' } | { id: string; status: 'failed'; error: Error };

/** The subscription operations a run needs: the `subs` core bound to the API and the store. */
export interface SubscriptionOps {
  list(): Promise<HeldSubscription[]>;
  create(callbackUrl: string, dataTypes: readonly string[]): Promise<CreateResult[]>;
  renew(ids: readonly string[]): Promise<RenewResult[]>;
  delete(ids: readonly string[]): Promise<DeleteResult[]>;
  /**
   * Run `task` only when no other process sharing the database runs it at the same time (a
   * lease); resolve false without running it when another does. Several `listen` processes on
   * one database then renew each subscription once: whoever comes next lists it renewed.
   */
  exclusively?(task: () => Promise<void>): Promise<boolean>;
}

export interface KeeperLog {
  info(text: string): void;
  warn(text: string): void;
  /** The run's subscriptions after they were made or moved. */
  subscribed?(callbackUrl: string, subscriptions: HeldSubscription[]): void;
}

export const RENEW_WITHIN_MS = 7 * 86_400_000;

export class SubscriptionKeeper {
  /** Every subscription this run relies on, by id. */
  private readonly held = new Map<string, HeldSubscription>();
  /** Those this run made: the ones it deletes at the end. */
  private readonly made = new Set<string>();
  private callbackUrl: string | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ops: SubscriptionOps,
    private readonly dataTypes: readonly string[],
    private readonly log: KeeperLog,
    private readonly now: () => number = Date.now,
  ) {}

  get subscriptions(): HeldSubscription[] {
    return [...this.held.values()];
  }

  /** Subscribe the callback URL; fails when not one subscription could be made. */
  subscribe(callbackUrl: string): Promise<void> {
    return this.serially(async () => {
      this.callbackUrl = callbackUrl;
      const outcomes = await this.ops.create(callbackUrl, this.dataTypes);
      const failed = outcomes.filter((o) => o.status === 'failed');
      for (const o of outcomes) {
        if (o.status === 'failed') continue;
        this.held.set(o.subscription.id, o.subscription);
        if (o.status === 'created') this.made.add(o.subscription.id);
      }
      const made = outcomes.filter((o) => o.status === 'created').length;
      const existing = outcomes.length - made - failed.length;
      if (failed.length > 0 && this.held.size === 0) {
        throw new RuntimeError(`No Oura subscription could be made for ${callbackUrl}: ${errorMessage(failed[0]!.error)}`);
      }
      this.log.info(
        `subscribed ${callbackUrl}: ${made} created${existing ? `, ${existing} already there` : ''}${failed.length ? `, ${failed.length} failed` : ''}`,
      );
      for (const o of failed) this.log.warn(`could not subscribe ${o.data_type}/${o.event_type}: ${errorMessage(o.error)}`);
      this.log.subscribed?.(callbackUrl, this.subscriptions);
    });
  }

  /**
   * Renew those within RENEW_WITHIN_MS of expiry (or with no readable expiry), as Oura
   * knows them now; one that Oura no longer has is reported, not silently dropped.
   */
  renewDue(): Promise<void> {
    return this.serially(async () => {
      if (this.held.size === 0) return;
      if (this.ops.exclusively) await this.ops.exclusively(() => this.renewHeld());
      else await this.renewHeld();
    });
  }

  /** The held subscriptions as Oura lists them now; those due renewed. */
  private async renewHeld(): Promise<void> {
    const remote = new Map((await this.ops.list()).map((s) => [s.id, s]));
    const due: string[] = [];
    for (const id of [...this.held.keys()]) {
      const sub = remote.get(id);
      if (!sub) {
        this.log.warn(`subscription ${id} is gone from Oura (deleted elsewhere or expired); restart with --subscribe to make it again`);
        this.held.delete(id);
        this.made.delete(id);
        continue;
      }
      this.held.set(id, sub);
      const at = sub.expiration_time ? Date.parse(sub.expiration_time) : Number.NaN;
      if (Number.isNaN(at) || at - this.now() <= RENEW_WITHIN_MS) due.push(id);
    }
    if (due.length === 0) return;
    for (const o of await this.ops.renew(due)) {
      if (o.status === 'failed') {
        this.log.warn(`could not renew subscription ${o.id}: ${errorMessage(o.error)}`);
        continue;
      }
      this.held.set(o.id, o.subscription);
      this.log.info(`renewed subscription ${o.id} (${o.subscription.data_type}/${o.subscription.event_type}) until ${o.subscription.expiration_time}`);
    }
  }

  /**
   * The tunnel came back on another URL: the old subscriptions point nowhere. Oura allows one
   * subscription per (event type, data type), so the old ones go first, then new ones are made.
   */
  move(callbackUrl: string): Promise<void> {
    return this.serially(async () => {
      if (callbackUrl === this.callbackUrl) return;
      const old = this.callbackUrl;
      const gone = await this.ops.delete([...this.held.keys()]);
      for (const o of gone) {
        if (o.status === 'failed') this.log.warn(`could not delete subscription ${o.id} for ${old}: ${errorMessage(o.error)}`);
        this.held.delete(o.id);
        this.made.delete(o.id);
      }
      this.log.info(`moving subscriptions from ${old} to ${callbackUrl}`);
    }).then(() => this.subscribe(callbackUrl));
  }

  /** At the end of the run: delete what this run made, or say what stays. */
  release(keep: boolean): Promise<void> {
    return this.serially(async () => {
      const ids = [...this.made];
      if (ids.length === 0) return;
      if (keep) {
        this.log.info(`keeping ${ids.length} subscription(s) for ${this.callbackUrl}; remove them with \`wearhook subs delete ${ids.join(' ')}\``);
        return;
      }
      const outcomes = await this.ops.delete(ids);
      const deleted = outcomes.filter((o) => o.status !== 'failed').length;
      for (const o of outcomes) {
        if (o.status === 'failed') this.log.warn(`could not delete subscription ${o.id}: ${errorMessage(o.error)}; run \`wearhook subs delete ${o.id}\``);
        this.held.delete(o.id);
        this.made.delete(o.id);
      }
      this.log.info(`deleted ${deleted} subscription(s) this run made`);
    });
  }

  /** One change at a time: a renewal must not race a move or the final delete. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => undefined);
    return run;
  }
}
