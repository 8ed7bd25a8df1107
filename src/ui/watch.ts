import { dataVersion, deliveryStatesOp, newestDeliveryIdOp, openDeliveryIdsOp, type DeliveryState } from '../store/console.js';
import { SqliteStore, type Store } from '../store/store.js';

/**
 * Tells the console which deliveries appeared or changed, whoever wrote them: a `listen` in
 * this process or another one on the same database (and that something was committed at all).
 *
 * - SQLite: `data_version` says cheaply whether anything was committed to the file since the
 *   last look; only then are the new rows and the rows whose work was still open read again.
 * - PostgreSQL: a poll every second of the same indexed query (rows after the newest seen, and
 *   the open ones). Polling rather than LISTEN/NOTIFY: a notification would have to be sent by
 *   every writer (each receiver, `sync`, the outbox of another machine) or by triggers in the
 *   schema, and a listening connection is lost behind a pooler in transaction mode (PgBouncer);
 *   one small query a second per open console sees every writer, whatever it is.
 */
export class DeliveryWatcher {
  private version = -1;
  private lastId = 0;
  /** State of the rows whose status can still change (received, pending), by id. */
  private readonly open = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private poked = false;
  private checking = false;
  private stopped = false;

  private constructor(
    private readonly store: Store,
    private readonly onChange: (ids: number[]) => void | Promise<void>,
    private readonly intervalMs: number,
  ) {}

  /** A watcher that knows the deliveries as they are now; `start()` begins the looking. */
  static async create(store: Store, onChange: (ids: number[]) => void | Promise<void>, intervalMs?: number): Promise<DeliveryWatcher> {
    const watcher = new DeliveryWatcher(store, onChange, intervalMs ?? (store instanceof SqliteStore ? 200 : 1000));
    watcher.lastId = await store.read(newestDeliveryIdOp);
    const open = await store.read(openDeliveryIdsOp);
    for (const row of await store.read(deliveryStatesOp, watcher.lastId, open)) watcher.open.set(row.id, stateKey(row));
    return watcher;
  }

  start(): void {
    if (this.store instanceof SqliteStore) this.version = dataVersion(this.store.db);
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  /** Look now (the receiver in this process just stored something). */
  poke(): void {
    this.poked = true;
    setImmediate(() => void this.check());
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.stopped || this.checking) return;
    if (this.store instanceof SqliteStore) {
      if (!this.store.db.open) return;
      const version = dataVersion(this.store.db);
      if (version === this.version && !this.poked) return;
      this.version = version;
    }
    this.poked = false;
    this.checking = true;
    try {
      const changed: number[] = [];
      for (const row of await this.store.read(deliveryStatesOp, this.lastId, [...this.open.keys()])) {
        const key = stateKey(row);
        const known = this.open.get(row.id);
        if (row.id > this.lastId || known !== key) changed.push(row.id);
        if (row.status === 'received' || row.status === 'pending') this.open.set(row.id, key);
        else this.open.delete(row.id);
        this.lastId = Math.max(this.lastId, row.id);
      }
      // Called after every commit seen (on PostgreSQL: every poll), with no ids when no delivery
      // changed: a page may show more than the delivery row (its forwards and hooks), and asks for itself.
      if (!this.stopped) await this.onChange(changed);
    } catch {
      // The database is away for a moment (a restart of PostgreSQL): the next look tries again.
    } finally {
      this.checking = false;
    }
  }
}

function stateKey(row: DeliveryState): string {
  return `${row.status}\u0000${row.attempts}\u0000${row.error ?? ''}\u0000${row.next_attempt_at ?? ''}`;
}
