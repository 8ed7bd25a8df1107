import { RECONCILE_KINDS } from './reconcile.js';
import { all, inJsonList, sql, sqlFor, type Op, type Sql } from './sql.js';

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
export function* documentArrivalsOp(filter: ArrivalFilter = {}): Op<DocumentArrival[]> {
  const where: Sql[] = ['d.deleted = 0', 'd.superseded_by_run IS NULL'];
  const params: unknown[] = [];
  if (filter.from !== undefined) where.push('d.day >= ?'), params.push(filter.from);
  if (filter.to !== undefined) where.push('d.day <= ?'), params.push(filter.to);
  if (filter.provider !== undefined) where.push('d.provider = ?'), params.push(filter.provider);
  if (filter.userIds !== undefined) where.push(inJsonList('d.user_id', '?')), params.push(JSON.stringify(filter.userIds));
  if (filter.accounts !== undefined) {
    // The pairs as one JSON array of [provider, user id] (PostgreSQL text cannot hold the NUL of accountKey).
    where.push({
      sqlite: "(d.provider, d.user_id) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))",
      postgres: '(d.provider, d.user_id) IN (SELECT value->>0, value->>1 FROM json_array_elements(CAST(? AS json)) AS value)',
    });
    params.push(JSON.stringify(filter.accounts.map((a) => [a.provider, a.userId])));
  }
  const conditions = { sqlite: where.map((w) => sqlFor(w, 'sqlite')).join(' AND '), postgres: where.map((w) => sqlFor(w, 'postgres')).join(' AND ') };
  const rows = yield* all<Omit<DocumentArrival, 'webhook'> & { webhook: number | boolean }>(
    sql`SELECT d.provider, d.user_id, d.type, d.id, d.day,
              EXISTS (SELECT 1 FROM document_versions v
                       WHERE v.provider = d.provider AND v.type = d.type AND v.id = d.id AND v.source = 'webhook') AS webhook,
              (SELECT r.kind FROM document_versions v JOIN sync_runs r ON r.id = v.sync_run_id
                WHERE v.provider = d.provider AND v.type = d.type AND v.id = d.id
                ORDER BY v.seq LIMIT 1) AS first_sync_kind
         FROM documents d
        WHERE ${conditions}
        ORDER BY d.provider, d.user_id, d.type, d.day, d.id`,
    params,
  );
  // EXISTS is 0/1 on SQLite, a boolean on PostgreSQL.
  return rows.map((r) => ({ ...r, webhook: r.webhook === 1 || r.webhook === true }));
}

/** The bodies of the stored Oura notifications of one user that bring a document (create, update): one indexed range (deliveries_by_user). */
export function* ouraNotificationBodiesOp(userId: string): Op<Buffer[]> {
  const rows = yield* all<{ body: Buffer }>(
    `SELECT body FROM deliveries
      WHERE provider = 'oura' AND user_id = ? AND (event_type LIKE '%.create' OR event_type LIKE '%.update')`,
    [userId],
  );
  return rows.map((r) => r.body);
}

/** Whether a sync run kind is reconciliation (of `listen`), rather than a `sync` the user ran. */
export function isReconcileKind(kind: string | null): boolean {
  return kind !== null && (RECONCILE_KINDS as readonly string[]).includes(kind);
}
