import type { DB } from './db.js';
import { RECONCILE_KINDS } from './reconcile.js';

/**
 * How each current document came to be stored, from the provenance of its versions (issue #10)
 * and the kind of the sync run that brought one (issue #17): what the gap accounting counts.
 */

export interface DocumentArrival {
  provider: string;
  user_id: string;
  type: string;
  id: string;
  day: string | null;
  /** Some version came with a delivery (a webhook fetch, or a payload that carried it). */
  webhook: boolean;
  /** The kind of the sync run that brought its first version ('reconcile', 'catch-up', 'sync'), if a sync did. */
  first_sync_kind: string | null;
}

export interface ArrivalFilter {
  /** Document days, YYYY-MM-DD, inclusive; documents without a day are counted only without a range. */
  from?: string;
  to?: string;
  provider?: string;
  /** Only these users (any provider). */
  userIds?: readonly string[];
  /** Only these accounts. */
  accounts?: readonly { provider: string; userId: string }[];
}

/** Every exported document (not deleted, not superseded) matching the filter, with how it arrived. */
export function documentArrivals(db: DB, filter: ArrivalFilter = {}): DocumentArrival[] {
  const where = ['d.deleted = 0', 'd.superseded_by_run IS NULL'];
  const params: unknown[] = [];
  if (filter.from !== undefined) where.push('d.day >= ?'), params.push(filter.from);
  if (filter.to !== undefined) where.push('d.day <= ?'), params.push(filter.to);
  if (filter.provider !== undefined) where.push('d.provider = ?'), params.push(filter.provider);
  if (filter.userIds !== undefined) where.push('d.user_id IN (SELECT value FROM json_each(?))'), params.push(JSON.stringify(filter.userIds));
  if (filter.accounts !== undefined) {
    where.push("(d.provider || char(0) || d.user_id) IN (SELECT value FROM json_each(?))");
    params.push(JSON.stringify(filter.accounts.map((a) => `${a.provider}\u0000${a.userId}`)));
  }
  const rows = db
    .prepare(
      `SELECT d.provider, d.user_id, d.type, d.id, d.day,
              EXISTS (SELECT 1 FROM document_versions v
                       WHERE v.provider = d.provider AND v.type = d.type AND v.id = d.id AND v.source = 'webhook') AS webhook,
              (SELECT r.kind FROM document_versions v JOIN sync_runs r ON r.id = v.sync_run_id
                WHERE v.provider = d.provider AND v.type = d.type AND v.id = d.id
                ORDER BY v.seq LIMIT 1) AS first_sync_kind
         FROM documents d
        WHERE ${where.join(' AND ')}
        ORDER BY d.provider, d.user_id, d.type, d.day, d.id`,
    )
    .all(...params) as (Omit<DocumentArrival, 'webhook'> & { webhook: number })[];
  return rows.map((r) => ({ ...r, webhook: r.webhook === 1 }));
}

/** The bodies of the stored Oura notifications of one user that bring a document (create, update): one indexed range (deliveries_by_user). */
export function ouraNotificationBodies(db: DB, userId: string): Buffer[] {
  return db
    .prepare(
      `SELECT body FROM deliveries
        WHERE provider = 'oura' AND user_id = ? AND (event_type LIKE '%.create' OR event_type LIKE '%.update')`,
    )
    .pluck()
    .all(userId) as Buffer[];
}

/** Whether a sync run kind is reconciliation (of `listen`), rather than a `sync` the user ran. */
export function isReconcileKind(kind: string | null): boolean {
  return kind !== null && (RECONCILE_KINDS as readonly string[]).includes(kind);
}
