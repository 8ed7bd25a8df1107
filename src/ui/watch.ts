import type { DB } from '../store/db.js';
import { dataVersion, deliveryStates, newestDeliveryId, openDeliveryIds, type DeliveryState } from '../store/console.js';

/**
 * Tells the console which deliveries appeared or changed, whoever wrote them: a `listen` in
 * this process or another one on the same file (and that something was committed at all). SQLite's `data_version` says cheaply whether
 * anything was committed since the last look; only then are the new rows and the rows whose
 * work was still open read again.
 */
export class DeliveryWatcher {
  private version = -1;
  private lastId: number;
  /** State of the rows whose status can still change (received, pending), by id. */
  private readonly open = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;
  private poked = false;

  constructor(
    private readonly db: DB,
    private readonly onChange: (ids: number[]) => void,
    private readonly intervalMs = 200,
  ) {
    this.lastId = newestDeliveryId(db);
    for (const row of deliveryStates(db, this.lastId, openDeliveryIds(db))) this.open.set(row.id, stateKey(row));
  }

  start(): void {
    this.version = dataVersion(this.db);
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  /** Look now (the receiver in this process just stored something). */
  poke(): void {
    this.poked = true;
    setImmediate(() => this.check());
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    if (!this.db.open) return;
    const version = dataVersion(this.db);
    if (version === this.version && !this.poked) return;
    this.version = version;
    this.poked = false;
    const changed: number[] = [];
    for (const row of deliveryStates(this.db, this.lastId, [...this.open.keys()])) {
      const key = stateKey(row);
      const known = this.open.get(row.id);
      if (row.id > this.lastId || known !== key) changed.push(row.id);
      if (row.status === 'received' || row.status === 'pending') this.open.set(row.id, key);
      else this.open.delete(row.id);
      this.lastId = Math.max(this.lastId, row.id);
    }
    // Called after every commit seen, with no ids when no delivery changed: a page may show
    // more than the delivery row (its forwards and hooks), and asks for itself.
    this.onChange(changed);
  }
}

function stateKey(row: DeliveryState): string {
  return `${row.status}\u0000${row.attempts}\u0000${row.error ?? ''}\u0000${row.next_attempt_at ?? ''}`;
}
