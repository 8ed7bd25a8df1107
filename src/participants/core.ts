import type { DB } from '../store/db.js';
import { RuntimeError, UsageError } from '../errors.js';
import {
  accountOwnerOp,
  accountsOfOp,
  deleteParticipantOp,
  getParticipantOp,
  insertParticipantOp,
  linkAccountOp,
  listParticipantsOp,
  unlinkAccountOp,
  updateParticipantOp,
  type ParticipantRow,
} from '../store/participants.js';
import { listUsersOp } from '../store/users.js';
import { lock, type Op } from '../store/sql.js';
import { runSqlite, transactSqlite } from '../store/sqlite-run.js';

/**
 * Participants of a study: a label, an optional IANA zone and enrolment window, and the
 * provider accounts that are that person's. Independent of the command line (the web
 * console and the enrolment routes use it too). Each is a store operation (`...Op`), run by
 * `participants` on SQLite or PostgreSQL; the `db` forms run it on a SQLite connection.
 */

/** Providers whose accounts a participant can hold: those whose deliveries name a user. */
export const LINKABLE_PROVIDERS = ['oura', 'vital', 'open-wearables', 'corsano'] as const;
export type LinkableProvider = (typeof LINKABLE_PROVIDERS)[number];

export interface ParticipantAccount {
  provider: string;
  user_id: string;
  /**
   * Oura only (the others push their data without a grant): `authorized`, `needs_reauth`
   * (the grant stopped working), or `not_authorized` (linked, but nobody logged in yet).
   */
  authorization: 'authorized' | 'needs_reauth' | 'not_authorized' | null;
  linked_at: string;
}

export interface Participant {
  label: string;
  tz: string | null;
  start: string | null;
  end: string | null;
  accounts: ParticipantAccount[];
  created_at: string;
}

export interface ParticipantChanges {
  tz?: string | null;
  start?: string | null;
  end?: string | null;
}

export function* addParticipantOp(label: string, fields: ParticipantChanges, now = new Date()): Op<Participant> {
  checkWindow(fields.start ?? null, fields.end ?? null);
  if (!(yield* insertParticipantOp(label, { tz: fields.tz, startDay: fields.start, endDay: fields.end }, now))) {
    throw new RuntimeError(`Participant ${label} already exists; change it with \`wearhook participants set ${label} ...\`.`);
  }
  return yield* describeParticipantOp(label);
}

export function* setParticipantOp(label: string, changes: ParticipantChanges & { rename?: string }, now = new Date()): Op<Participant> {
  const current = yield* requireParticipantOp(label);
  checkWindow(changes.start !== undefined ? changes.start : current.start_day, changes.end !== undefined ? changes.end : current.end_day);
  if (changes.rename !== undefined && changes.rename !== label && (yield* getParticipantOp(changes.rename))) {
    throw new RuntimeError(`Participant ${changes.rename} already exists; pick another name for ${label}.`);
  }
  yield* updateParticipantOp(label, { tz: changes.tz, startDay: changes.start, endDay: changes.end, newLabel: changes.rename }, now);
  return yield* describeParticipantOp(changes.rename ?? label);
}

export interface LinkResult {
  label: string;
  provider: string;
  user_id: string;
  /** The participant the account belonged to before (with --move), or null. */
  moved_from: string | null;
  /** True when the account already belonged to this participant. */
  unchanged: boolean;
}

/** Make an account (provider, user id) this participant's; an account held by another participant moves only with `move`. */
export function* linkParticipantAccountOp(link: { label: string; provider: string; userId: string; move?: boolean }, now = new Date()): Op<LinkResult> {
  if (!(LINKABLE_PROVIDERS as readonly string[]).includes(link.provider)) {
    throw new UsageError(`Unknown provider "${link.provider}"; a participant can hold accounts of ${LINKABLE_PROVIDERS.join(', ')}.`);
  }
  if (link.userId.trim() === '') throw new UsageError('The user id is empty; give the provider\'s user id (as its deliveries name it).');
  yield* requireParticipantOp(link.label);
  // Two links of one account at once (PostgreSQL): the second decides from what the first wrote.
  yield* lock(`participant-account:${link.provider}:${link.userId}`);
  const owner = yield* accountOwnerOp(link.provider, link.userId);
  if (owner !== undefined && owner !== link.label && !link.move) {
    throw new RuntimeError(
      `The ${link.provider} account ${link.userId} belongs to participant ${owner}; add --move to move it to ${link.label}, or \`wearhook participants unlink ${link.provider} ${link.userId}\`.`,
    );
  }
  if (owner !== link.label) yield* linkAccountOp({ provider: link.provider, userId: link.userId, label: link.label }, now);
  return {
    label: link.label,
    provider: link.provider,
    user_id: link.userId,
    moved_from: owner !== undefined && owner !== link.label ? owner : null,
    unchanged: owner === link.label,
  };
}

export function* unlinkParticipantAccountOp(provider: string, userId: string): Op<{ label: string; provider: string; user_id: string }> {
  const owner = yield* accountOwnerOp(provider, userId);
  if (owner === undefined) throw new RuntimeError(`The ${provider} account ${userId} belongs to no participant; see \`wearhook participants list\`.`);
  yield* unlinkAccountOp(provider, userId);
  return { label: owner, provider, user_id: userId };
}

/** Forget the participant and its links. Documents, samples, deliveries and Oura tokens stay. */
export function* removeParticipantOp(label: string): Op<Participant> {
  const before = yield* describeParticipantOp(label);
  yield* deleteParticipantOp(label);
  return before;
}

export function* listParticipantViewsOp(): Op<Participant[]> {
  const accounts = yield* accountsOfOp();
  const oura = new Map((yield* listUsersOp('oura')).map((u) => [u.user_id, u]));
  return (yield* listParticipantsOp()).map((p) => toView(p, accounts.filter((a) => a.label === p.label), oura));
}

export function* describeParticipantOp(label: string): Op<Participant> {
  const row = yield* requireParticipantOp(label);
  const oura = new Map((yield* listUsersOp('oura')).map((u) => [u.user_id, u]));
  return toView(row, yield* accountsOfOp([label]), oura);
}

export function* requireParticipantOp(label: string): Op<ParticipantRow> {
  const row = yield* getParticipantOp(label);
  if (!row) throw new UsageError(`No participant ${label}; add it with \`wearhook participants add ${label}\` (see \`wearhook participants list\`).`);
  return row;
}

/* The same on a SQLite connection, synchronously, each as one transaction (the console, tests). */

export function addParticipant(db: DB, label: string, fields: ParticipantChanges, now = new Date()): Participant {
  return transactSqlite(db, addParticipantOp, label, fields, now);
}

export function setParticipant(db: DB, label: string, changes: ParticipantChanges & { rename?: string }, now = new Date()): Participant {
  return transactSqlite(db, setParticipantOp, label, changes, now);
}

export function linkParticipantAccount(db: DB, link: { label: string; provider: string; userId: string; move?: boolean }, now = new Date()): LinkResult {
  return transactSqlite(db, linkParticipantAccountOp, link, now);
}

export function listParticipantViews(db: DB): Participant[] {
  return runSqlite(db, listParticipantViewsOp());
}

function toView(
  row: ParticipantRow,
  accounts: { provider: string; user_id: string; linked_at: string }[],
  oura: Map<string, { needs_reauth: number }>,
): Participant {
  return {
    label: row.label,
    tz: row.tz,
    start: row.start_day,
    end: row.end_day,
    accounts: accounts.map((a) => ({
      provider: a.provider,
      user_id: a.user_id,
      authorization: a.provider !== 'oura' ? null : !oura.has(a.user_id) ? 'not_authorized' : oura.get(a.user_id)!.needs_reauth ? 'needs_reauth' : 'authorized',
      linked_at: a.linked_at,
    })),
    created_at: row.created_at,
  };
}

function checkWindow(start: string | null, end: string | null): void {
  if (start !== null && end !== null && start > end) {
    throw new UsageError(`The enrolment starts (${start}) after it ends (${end}); give the earlier day as --start.`);
  }
}
