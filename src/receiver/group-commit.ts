import type { DB } from '../store/db.js';

interface Waiting {
  write: () => unknown;
  durable: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Group commit: the writes asked for in the same turn of the event loop (deliveries just
 * verified, documents just fetched or normalised) run in one transaction, so under load
 * durability costs one fsync per batch instead of one per write. A commit blocks the event
 * loop; the requests that arrive meanwhile form the next batch.
 *
 * Each write runs in its own savepoint: one that throws is undone alone and only its
 * promise rejects. A promise resolves only after the transaction holding its write is
 * committed, so an acknowledgement still always follows the commit. If the commit itself
 * fails (disk full, read-only file), every write of the batch rejects: none of it is stored.
 *
 * Only deliveries need their own fsync: what is derived from them (documents, samples,
 * statuses, claims) can always be rebuilt from the stored delivery. Such writes are asked for
 * with `durable: false`: they join whatever batch comes next, and a batch of nothing else is
 * committed without waiting for the disk (`synchronous = NORMAL`). The WAL is one file written
 * in order, so the next durable commit's fsync makes them durable too; a power cut before then
 * loses them and leaves their delivery to be worked on again. A crash of the process loses
 * nothing: a commit is in the operating system's hands either way.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private readonly inSavepoint: (write: () => unknown) => unknown;
  private readonly commitBatch: (batch: Waiting[]) => Outcome[];
  private readonly syncFull: () => unknown;
  private readonly syncNormal: () => unknown;

  constructor(private readonly db: DB) {
    const full = db.prepare('PRAGMA synchronous = FULL');
    const normal = db.prepare('PRAGMA synchronous = NORMAL');
    this.syncFull = () => full.run();
    this.syncNormal = () => normal.run();
    this.inSavepoint = db.transaction((write: () => unknown) => write());
    this.commitBatch = db.transaction((batch: Waiting[]) =>
      batch.map(({ write }): Outcome => {
        try {
          return { ok: true, value: this.inSavepoint(write) };
        } catch (err) {
          // SQLite rolls the whole transaction back on some errors (SQLITE_FULL, I/O): then nothing of the batch is stored.
          if (!db.inTransaction) throw err;
          return { ok: false, err };
        }
      }),
    ).immediate;
  }

  /**
   * Run `write` (synchronous SQLite statements) in the next batch; resolves with its result once
   * committed: durably unless `durable: false` (a write derived from stored deliveries).
   */
  run<T>(write: () => T, options: { durable?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ write, durable: options.durable ?? true, resolve: resolve as (value: unknown) => void, reject });
      if (this.waiting.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.waiting;
    this.waiting = [];
    let outcomes: Outcome[];
    const lazy = !batch.some((w) => w.durable);
    try {
      if (lazy) this.syncNormal();
      outcomes = this.commitBatch(batch);
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    } finally {
      // Every other write of this connection stays durable.
      if (lazy && this.db.open) this.syncFull();
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.err);
    });
  }
}
