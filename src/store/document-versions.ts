import type { DB } from './db.js';
import { all, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/** Reading the versions of documents: `history`, and what `events show` says a delivery stored. */

export interface VersionRow {
  seq: number;
  provider: string;
  type: string;
  id: string;
  user_id: string;
  day: string | null;
  data: string;
  content_sha256: string;
  retrieved_at: string;
  source: string | null;
  delivery_id: number | null;
  sync_run_id: number | null;
  sync_run_kind: string | null;
  order_rank: number;
  order_at: number;
  arrived_older: number;
  /** Place in the provider's order, 1 = the oldest. */
  position: number;
}

/** Every stored version of one document, oldest first in the provider's order. */
export function* documentVersionsOp(provider: string, type: string, id: string): Op<VersionRow[]> {
  return yield* all<VersionRow>(
    `SELECT v.*, r.kind AS sync_run_kind,
            ROW_NUMBER() OVER (ORDER BY v.order_rank, v.order_at, v.seq) AS position
     FROM document_versions v LEFT JOIN sync_runs r ON r.id = v.sync_run_id
     WHERE v.provider = ? AND v.type = ? AND v.id = ?
     ORDER BY v.order_rank, v.order_at, v.seq`,
    [provider, type, id],
  );
}

export function documentVersions(db: DB, provider: string, type: string, id: string): VersionRow[] {
  return runSqlite(db, documentVersionsOp(provider, type, id));
}

export interface DeliveredVersion {
  provider: string;
  type: string;
  id: string;
  position: number;
  /** How many versions the document has now. */
  versions: number;
  current: boolean;
  /** A newer version was already stored when this one arrived. */
  arrived_older: boolean;
}

/** The document versions a delivery brought, and where each stands now. */
export function versionsFromDelivery(db: DB, deliveryId: number): DeliveredVersion[] {
  return runSqlite(db, versionsFromDeliveryOp(deliveryId));
}

export function* versionsFromDeliveryOp(deliveryId: number): Op<DeliveredVersion[]> {
  const rows = yield* all<{ provider: string; type: string; id: string; arrived_older: number; versions: number; current: number; position: number }>(
    `SELECT v.provider, v.type, v.id, v.arrived_older, d.version AS versions, CASE WHEN d.current_seq = v.seq THEN 1 ELSE 0 END AS current,
            (SELECT COUNT(*) FROM document_versions w
              WHERE w.provider = v.provider AND w.type = v.type AND w.id = v.id
                AND (w.order_rank, w.order_at, w.seq) <= (v.order_rank, v.order_at, v.seq)) AS position
     FROM document_versions v JOIN documents d ON d.provider = v.provider AND d.type = v.type AND d.id = v.id
     WHERE v.delivery_id = ?
     ORDER BY v.seq`,
    [deliveryId],
  );
  return rows.map((r) => ({ ...r, current: r.current === 1, arrived_older: r.arrived_older === 1 }));
}

export interface DeliveredDocument {
  provider: string;
  type: string;
  id: string;
  user_id: string;
  day: string | null;
  /** The document as this delivery brought it (for Oura, as fetched for it). */
  data: unknown;
}

/** The documents a delivery brought, in full, as it brought them (a hook's input). */
export function* documentsOfDeliveryOp(deliveryId: number): Op<DeliveredDocument[]> {
  const rows = yield* all<Omit<DeliveredDocument, 'data'> & { data: string }>(
    'SELECT provider, type, id, user_id, day, data FROM document_versions WHERE delivery_id = ? ORDER BY seq',
    [deliveryId],
  );
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as unknown }));
}
