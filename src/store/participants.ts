import type { DB } from './db.js';
import { all, get, inJsonList, run, sql, type Op } from './sql.js';
import { runSqlite } from './sqlite-run.js';

/**
 * Participants of a study and the provider accounts that are theirs. The label is the one
 * name a participant has in every export table and in the report, whichever provider the
 * data came from; an account (provider, user id) belongs to at most one participant.
 *
 * Each query is a store operation (`...Op`, sql.ts) for SQLite and PostgreSQL alike; the
 * functions that take a `DB` run it on SQLite synchronously, for the SQLite-only callers.
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
export function* insertParticipantOp(label: string, fields: ParticipantFields, now = new Date()): Op<boolean> {
  const ts = now.toISOString();
  const result = yield* run(
    `INSERT INTO participants (label, tz, start_day, end_day, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (label) DO NOTHING`,
    [label, fields.tz ?? null, fields.startDay ?? null, fields.endDay ?? null, ts, ts],
  );
  return result.changes > 0;
}

export function insertParticipant(db: DB, label: string, fields: ParticipantFields, now = new Date()): boolean {
  return runSqlite(db, insertParticipantOp(label, fields, now));
}

/** The participant, created without a zone or window when it does not exist yet. */
export function* ensureParticipantOp(label: string, now = new Date()): Op<void> {
  yield* insertParticipantOp(label, {}, now);
}

export function ensureParticipant(db: DB, label: string, now = new Date()): void {
  runSqlite(db, ensureParticipantOp(label, now));
}

export function* getParticipantOp(label: string): Op<ParticipantRow | undefined> {
  return yield* get<ParticipantRow>('SELECT * FROM participants WHERE label = ?', [label]);
}

export function getParticipant(db: DB, label: string): ParticipantRow | undefined {
  return runSqlite(db, getParticipantOp(label));
}

export function* listParticipantsOp(): Op<ParticipantRow[]> {
  return yield* all<ParticipantRow>('SELECT * FROM participants ORDER BY label');
}

export function listParticipants(db: DB): ParticipantRow[] {
  return runSqlite(db, listParticipantsOp());
}

/** Change the given fields (undefined = keep, null = clear) and optionally the label; the links follow a new label. */
export function* updateParticipantOp(label: string, fields: ParticipantFields & { newLabel?: string }, now = new Date()): Op<boolean> {
  const columns = { tz: fields.tz, start_day: fields.startDay, end_day: fields.endDay, label: fields.newLabel };
  const sets: string[] = ['updated_at = @ts'];
  const params: Record<string, unknown> = { label, ts: now.toISOString() };
  for (const [column, value] of Object.entries(columns)) {
    if (value === undefined) continue;
    sets.push(`${column} = @new_${column}`);
    params[`new_${column}`] = value;
  }
  return (yield* run(`UPDATE participants SET ${sets.join(', ')} WHERE label = @label`, params)).changes > 0;
}

export function updateParticipant(db: DB, label: string, fields: ParticipantFields & { newLabel?: string }, now = new Date()): boolean {
  return runSqlite(db, updateParticipantOp(label, fields, now));
}

/** Forget the participant and its links; the data of its accounts stays (unlabelled). */
export function* deleteParticipantOp(label: string): Op<boolean> {
  return (yield* run('DELETE FROM participants WHERE label = ?', [label])).changes > 0;
}

export function deleteParticipant(db: DB, label: string): boolean {
  return runSqlite(db, deleteParticipantOp(label));
}

/** Link an account to a participant (moving it if another participant had it). */
export function* linkAccountOp(link: { provider: string; userId: string; label: string }, now = new Date()): Op<void> {
  yield* run(
    sql`INSERT INTO participant_accounts (provider, user_id, label, linked_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (provider, user_id) DO UPDATE SET label = excluded.label, linked_at = excluded.linked_at
     WHERE participant_accounts.label ${{ sqlite: 'IS NOT', postgres: 'IS DISTINCT FROM' }} excluded.label`,
    [link.provider, link.userId, link.label, now.toISOString()],
  );
}

export function linkAccount(db: DB, link: { provider: string; userId: string; label: string }, now = new Date()): void {
  runSqlite(db, linkAccountOp(link, now));
}

export function* unlinkAccountOp(provider: string, userId: string): Op<boolean> {
  return (yield* run('DELETE FROM participant_accounts WHERE provider = ? AND user_id = ?', [provider, userId])).changes > 0;
}

export function unlinkAccount(db: DB, provider: string, userId: string): boolean {
  return runSqlite(db, unlinkAccountOp(provider, userId));
}

/** The participant an account belongs to, if any. */
export function* accountOwnerOp(provider: string, userId: string): Op<string | undefined> {
  const row = yield* get<{ label: string }>('SELECT label FROM participant_accounts WHERE provider = ? AND user_id = ?', [provider, userId]);
  return row?.label;
}

export function accountOwner(db: DB, provider: string, userId: string): string | undefined {
  return runSqlite(db, accountOwnerOp(provider, userId));
}

/** The accounts of some participants (all when `labels` is undefined), by label, provider, user. */
export function* accountsOfOp(labels?: readonly string[]): Op<AccountLink[]> {
  if (labels === undefined) return yield* all<AccountLink>('SELECT * FROM participant_accounts ORDER BY label, provider, user_id');
  if (labels.length === 0) return [];
  return yield* all<AccountLink>(sql`SELECT * FROM participant_accounts WHERE ${inJsonList('label', '?')} ORDER BY label, provider, user_id`, [
    JSON.stringify(labels),
  ]);
}

export function accountsOf(db: DB, labels?: readonly string[]): AccountLink[] {
  return runSqlite(db, accountsOfOp(labels));
}

/** Every linked account's label, keyed `provider \0 user_id`: what the exporter writes in `label`. */
export function* accountLabelsOp(): Op<Map<string, string>> {
  const rows = yield* all<Pick<AccountLink, 'provider' | 'user_id' | 'label'>>('SELECT provider, user_id, label FROM participant_accounts');
  return new Map(rows.map((r) => [accountKey(r.provider, r.user_id), r.label]));
}

export function accountLabels(db: DB): Map<string, string> {
  return runSqlite(db, accountLabelsOp());
}

export function accountKey(provider: string, userId: string): string {
  return `${provider}\u0000${userId}`;
}

/** The IANA zone of the participant an account belongs to, if it has one (what `zoneOf` answers). */
export function* participantZoneOp(provider: string, userId: string): Op<string | null> {
  return (yield* get<{ tz: string | null }>(
    'SELECT p.tz FROM participant_accounts pa JOIN participants p ON p.label = pa.label WHERE pa.provider = ? AND pa.user_id = ?',
    [provider, userId],
  ))?.tz ?? null;
}

export function participantZone(db: DB, provider: string, userId: string): string | null {
  return runSqlite(db, participantZoneOp(provider, userId));
}
