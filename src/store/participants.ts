import type { DB } from './db.js';
import { cachedStatement } from './statements.js';
import { runSqlite } from './sqlite-run.js';
import { get, type Op } from './sql.js';

/**
 * Participants of a study and the provider accounts that are theirs. The label is the one
 * name a participant has in every export table and in the report, whichever provider the
 * data came from; an account (provider, user id) belongs to at most one participant.
 */

export interface ParticipantRow {
  label: string;
  tz: string | null;
  start_day: string | null;
  end_day: string | null;
  created_at: string;
  updated_at: string;
}

export interface AccountLink {
  provider: string;
  user_id: string;
  label: string;
  linked_at: string;
}

export interface ParticipantFields {
  tz?: string | null;
  startDay?: string | null;
  endDay?: string | null;
}

/** Returns false (and changes nothing) when the label is taken. */
export function insertParticipant(db: DB, label: string, fields: ParticipantFields, now = new Date()): boolean {
  const ts = now.toISOString();
  return (
    db
      .prepare(
        `INSERT INTO participants (label, tz, start_day, end_day, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (label) DO NOTHING`,
      )
      .run(label, fields.tz ?? null, fields.startDay ?? null, fields.endDay ?? null, ts, ts).changes > 0
  );
}

/** The participant, created without a zone or window when it does not exist yet. */
export function ensureParticipant(db: DB, label: string, now = new Date()): void {
  insertParticipant(db, label, {}, now);
}

export function getParticipant(db: DB, label: string): ParticipantRow | undefined {
  return db.prepare('SELECT * FROM participants WHERE label = ?').get(label) as ParticipantRow | undefined;
}

export function listParticipants(db: DB): ParticipantRow[] {
  return db.prepare('SELECT * FROM participants ORDER BY label').all() as ParticipantRow[];
}

/** Change the given fields (undefined = keep, null = clear) and optionally the label; the links follow a new label. */
export function updateParticipant(db: DB, label: string, fields: ParticipantFields & { newLabel?: string }, now = new Date()): boolean {
  const columns = { tz: fields.tz, start_day: fields.startDay, end_day: fields.endDay, label: fields.newLabel };
  const sets: string[] = ['updated_at = @ts'];
  const params: Record<string, unknown> = { label, ts: now.toISOString() };
  for (const [column, value] of Object.entries(columns)) {
    if (value === undefined) continue;
    sets.push(`${column} = @new_${column}`);
    params[`new_${column}`] = value;
  }
  return db.prepare(`UPDATE participants SET ${sets.join(', ')} WHERE label = @label`).run(params).changes > 0;
}

/** Forget the participant and its links; the data of its accounts stays (unlabelled). */
export function deleteParticipant(db: DB, label: string): boolean {
  return db.prepare('DELETE FROM participants WHERE label = ?').run(label).changes > 0;
}

/** Link an account to a participant (moving it if another participant had it). */
export function linkAccount(db: DB, link: { provider: string; userId: string; label: string }, now = new Date()): void {
  db.prepare(
    `INSERT INTO participant_accounts (provider, user_id, label, linked_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (provider, user_id) DO UPDATE SET label = excluded.label, linked_at = excluded.linked_at
     WHERE participant_accounts.label IS NOT excluded.label`,
  ).run(link.provider, link.userId, link.label, now.toISOString());
}

export function unlinkAccount(db: DB, provider: string, userId: string): boolean {
  return db.prepare('DELETE FROM participant_accounts WHERE provider = ? AND user_id = ?').run(provider, userId).changes > 0;
}

/** The participant an account belongs to, if any. */
export function accountOwner(db: DB, provider: string, userId: string): string | undefined {
  return runSqlite(db, accountOwnerOp(provider, userId));
}

export function* accountOwnerOp(provider: string, userId: string): Op<string | undefined> {
  return (yield* get<{ label: string }>('SELECT label FROM participant_accounts WHERE provider = ? AND user_id = ?', [provider, userId]))?.label;
}

/** The accounts of some participants (all when `labels` is undefined), by label, provider, user. */
export function accountsOf(db: DB, labels?: readonly string[]): AccountLink[] {
  if (labels === undefined) {
    return db.prepare('SELECT * FROM participant_accounts ORDER BY label, provider, user_id').all() as AccountLink[];
  }
  if (labels.length === 0) return [];
  return db
    .prepare(
      `SELECT * FROM participant_accounts WHERE label IN (SELECT value FROM json_each(?)) ORDER BY label, provider, user_id`,
    )
    .all(JSON.stringify(labels)) as AccountLink[];
}

/** Every linked account's label, keyed `provider \0 user_id`: what the exporter writes in `label`. */
export function accountLabels(db: DB): Map<string, string> {
  const rows = db.prepare('SELECT provider, user_id, label FROM participant_accounts').all() as Pick<AccountLink, 'provider' | 'user_id' | 'label'>[];
  return new Map(rows.map((r) => [accountKey(r.provider, r.user_id), r.label]));
}

export function accountKey(provider: string, userId: string): string {
  return `${provider}\u0000${userId}`;
}

/** The IANA zone of the participant an account belongs to, if it has one (what `zoneOf` answers). */
export function participantZone(db: DB, provider: string, userId: string): string | null {
  const row = cachedStatement(
    db,
    `SELECT p.tz FROM participant_accounts pa JOIN participants p ON p.label = pa.label WHERE pa.provider = ? AND pa.user_id = ?`,
  ).get(provider, userId) as { tz: string | null } | undefined;
  return row?.tz ?? null;
}
