import type { Output } from '../cli/output.js';
import { deliveryHorizonOp } from '../store/deliveries.js';
import { deliveriesAfterOp, listDeliveriesOp, type DeliveryFilter } from '../store/delivery-history.js';
import type { Store } from '../store/store.js';
import { deliveryTable, summary } from './delivery-log.js';

export interface TailOptions {
  filter: Omit<DeliveryFilter, 'limit' | 'throughId'>;
  /** How many of the latest deliveries to print first. */
  limit: number;
  follow: boolean;
  /** NDJSON, one summary per delivery. */
  json: boolean;
  /** How often the database is read for new deliveries while following. */
  intervalMs?: number;
  /** Stops following (default: the first SIGINT or SIGTERM). */
  stop?: Promise<unknown>;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/**
 * `events tail`: the latest deliveries, oldest first; with `follow`, every delivery stored
 * afterwards, by this or any other process (the database is the source: it is read every
 * `intervalMs`, from the highest id printed so far, so nothing committed is skipped).
 *
 * On PostgreSQL ids commit out of order, so each look goes only up to the horizon
 * (deliveryHorizonOp: every lower id committed or undone). Polling by id rather than
 * LISTEN/NOTIFY: nothing to add to the receiver's commit, nothing missed while a connection is
 * re-established, and it works through a pooler (PgBouncer's transaction mode has no LISTEN);
 * a look every 250 ms is one indexed query.
 */
export async function tailDeliveries(store: Store, output: Output, options: TailOptions): Promise<void> {
  // SQLite reads without a transaction (the highest id is already the horizon there).
  const horizon = (after?: number) => (store.dialect === 'postgres' ? store.run(deliveryHorizonOp, after) : store.read(deliveryHorizonOp, after));
  let seen = await horizon();
  const latest = options.limit > 0 ? (await store.read(listDeliveriesOp, { ...options.filter, throughId: seen, limit: options.limit })).reverse() : [];
  const table = deliveryTable(output, latest, options.follow);
  if (!options.json) {
    if (latest.length > 0 || options.follow) output.result(table.header);
    else output.log('no deliveries match');
  }
  const print = (rows: typeof latest) => {
    for (const row of rows) {
      if (options.json) output.ndjson(summary(row));
      else output.result(table.line(row));
    }
  };
  print(latest);
  if (!options.follow) return;

  let stopped = false;
  const stop = (options.stop ?? untilSignal()).then(() => {
    stopped = true;
  });
  const interval = options.intervalMs ?? 250;
  while (!stopped) {
    const top = await horizon(seen);
    while (seen < top) {
      const rows = await store.read(deliveriesAfterOp, seen, { ...options.filter, throughId: top }, 500);
      print(rows);
      seen = rows.length === 500 ? rows[rows.length - 1]!.id : top;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stop, new Promise((resolve) => (timer = setTimeout(resolve, interval)))]);
    clearTimeout(timer);
  }
}
