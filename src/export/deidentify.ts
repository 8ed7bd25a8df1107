import { createHmac } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { ColumnDef, TableDef } from './registry/columns.js';
import type { RowFields, Value } from './tables.js';

/**
 * `export --pseudonymize`: a copy of the data that can be shared. With the study key (never
 * on the command line) every user id, label and document id becomes a keyed pseudonym
 * (HMAC-SHA256): the same in every run and every table with the same key, different with
 * another key, and not reversible without it. Free text (tag comments, custom names, workout
 * labels) is dropped. `--shift-dates` moves each participant's dates and times by a whole
 * number of days derived from the key: the same shift in every table and provider of that
 * participant, whole weeks (the weekday kept) unless `any`.
 */

export type ShiftDates = 'none' | 'weekday' | 'any';

export interface Deidentification {
  key: string;
  shiftDates: ShiftDates;
}

/** Shorter keys make the pseudonyms of known user ids guessable by trying keys. */
export const MIN_STUDY_KEY_LENGTH = 16;

export function checkStudyKey(key: string | undefined): string {
  if (!key) {
    throw new UsageError(
      '--pseudonymize needs a study key: set WEARHOOK_STUDY_KEY or `wearhook config set study.key KEY` (e.g. from `openssl rand -hex 32`); it is never read from the command line.',
    );
  }
  if (key.length < MIN_STUDY_KEY_LENGTH) {
    throw new UsageError(`The study key is ${key.length} characters long; use at least ${MIN_STUDY_KEY_LENGTH} (e.g. \`openssl rand -hex 32\`).`);
  }
  return key;
}

/** What --pseudonymize did, for the codebook. */
export function describeDeidentification(d: Deidentification, tables: readonly TableDef[]) {
  const byPrivacy = (privacy: string) => [...new Set(tables.flatMap((t) => t.columns.filter((c) => c.privacy === privacy).map((c) => c.name)))];
  return {
    method: 'HMAC-SHA256 keyed with the study key (WEARHOOK_STUDY_KEY or config study.key); the key is not in the export',
    pseudonymized: {
      user_id: "u_ and 16 hex digits of HMAC(key, 'user', provider, user_id): one per provider account",
      label: "p_ and 16 hex digits of HMAC(key, 'label', label): one per participant",
      ids: `d_ and 20 hex digits of HMAC(key, 'id', provider, id), so that ids still join across tables: ${byPrivacy('id').join(', ')}`,
    },
    dropped: byPrivacy('free_text'),
    dates_shifted:
      d.shiftDates === 'none'
        ? 'no: dates and times are as recorded'
        : `every date and time column of a participant moved by the same whole number of days, derived from the key (${d.shiftDates === 'weekday' ? 'whole weeks, so each date keeps its weekday' : 'any number of days, weekdays not kept'}); local times keep their offsets and stay consistent with their _utc twins; the export's range and filters are withheld`,
  };
}

function hmacHex(key: string, ...parts: string[]): string {
  return createHmac('sha256', key).update(parts.join('\0')).digest('hex');
}

export function userPseudonym(key: string, provider: string, userId: string): string {
  return `u_${hmacHex(key, 'user', provider, userId).slice(0, 16)}`;
}

export function labelPseudonym(key: string, label: string): string {
  return `p_${hmacHex(key, 'label', label).slice(0, 16)}`;
}

export function idPseudonym(key: string, provider: string, id: string): string {
  return `d_${hmacHex(key, 'id', provider, id).slice(0, 20)}`;
}

/** The whole days a participant's dates move: non-zero, within a year either way; whole weeks unless `any`. */
export function shiftDaysOf(key: string, shiftDates: ShiftDates, participant: string): number {
  if (shiftDates === 'none') return 0;
  const n = parseInt(hmacHex(key, 'shift', participant).slice(0, 8), 16);
  if (shiftDates === 'weekday') {
    const weeks = (n % 104) - 52; // -52 .. 51
    return 7 * (weeks >= 0 ? weeks + 1 : weeks);
  }
  const days = (n % 730) - 365; // -365 .. 364
  return days >= 0 ? days + 1 : days;
}

const DAY_MS = 86_400_000;
const DATE_RE = /^\d{4}-\d{2}-\d{2}/;

/** A date moved by whole days. */
function shiftDate(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return Number.isNaN(ms) ? date : new Date(ms + days * DAY_MS).toISOString().slice(0, 10);
}

export interface RowDeidentifier {
  /** The columns written: the table's, less free text. */
  columns: readonly ColumnDef[];
  row(row: RowFields): RowFields;
}

/** The de-identification of one table's rows, compiled once per table. */
export function deidentifier(table: TableDef, d: Deidentification): RowDeidentifier {
  const columns = table.columns.filter((c) => c.privacy !== 'free_text');
  const ids = columns.filter((c) => c.privacy === 'id').map((c) => c.name);
  const dates = columns.filter((c) => c.type === 'date' || c.type === 'local_datetime' || c.type === 'utc_datetime').map((c) => c.name);
  const users = new Map<string, string>();
  const labels = new Map<string, string>();
  const idCache = new Map<string, string>();
  const shifts = new Map<string, number>();
  const shiftedDates = new Map<string, string>();
  const cached = (cache: Map<string, string>, limit: number, key: string, make: () => string): string => {
    let value = cache.get(key);
    if (value === undefined) {
      if (cache.size >= limit) cache.clear(); // ids are many: keep memory bounded
      cache.set(key, (value = make()));
    }
    return value;
  };
  return {
    columns,
    row(row) {
      const provider = String(row.provider);
      const userId = String(row.user_id);
      const label = row.label;
      const account = `${provider}\0${userId}`;
      // One shift per participant (all their accounts), else per account.
      const participant = typeof label === 'string' ? `label\0${label}` : `account\0${account}`;
      let days = shifts.get(participant);
      if (days === undefined) shifts.set(participant, (days = shiftDaysOf(d.key, d.shiftDates, participant)));
      const out: RowFields = {};
      for (const column of columns) out[column.name] = row[column.name];
      out.user_id = cached(users, 100_000, account, () => userPseudonym(d.key, provider, userId));
      out.label = typeof label === 'string' ? cached(labels, 100_000, label, () => labelPseudonym(d.key, label)) : null;
      for (const name of ids) {
        const id = row[name];
        if (typeof id === 'string') out[name] = cached(idCache, 100_000, `${provider}\0${id}`, () => idPseudonym(d.key, provider, id));
      }
      if (days !== 0) {
        for (const name of dates) {
          const value: Value | undefined = row[name];
          // Only the date part changes: the time of day and the offset stay, so a local time and its _utc twin stay consistent.
          if (typeof value === 'string' && DATE_RE.test(value)) {
            const date = value.slice(0, 10);
            out[name] = cached(shiftedDates, 100_000, `${days}\0${date}`, () => shiftDate(date, days!)) + value.slice(10);
          }
        }
      }
      return out;
    },
  };
}
