import { UsageError } from '../errors.js';
import { exportRowBatches, type ExportFilter } from '../export/query.js';
import type { ExportType, RowFields } from '../export/tables.js';
import { sourcesFor } from '../export/sources.js';
import { EXPIRING_SOON_MS } from '../subscriptions/core.js';
import { addDays } from '../util/days.js';
import { accountKey, accountsOfOp, getParticipantOp, listParticipantsOp, type AccountLink, type ParticipantRow } from '../store/participants.js';
import { arrivalsByDayOp, emptyCounts, webhookShare, type ArrivalCounts } from '../sync/coverage.js';
import { daysWithDataOp, lastDeliveryAtOp, lastSyncAtOp, latestEventOfOp, subscriptionExpiriesOp, wornMinutesOp } from '../store/report.js';
import { listUsersOp } from '../store/users.js';
import type { Op } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { instantWithOffset, localDate } from '../time/instant.js';
import { zoneOffsetAt } from '../time/zones.js';

/**
 * The completeness report: per participant and day, what arrived, how much HRV was measured,
 * how long the device was worn, and the flags that say whose data is missing and why. Only
 * the computation lives here; the terminal strip (./terminal.ts) and the web console's
 * heatmap draw it. Everything is read from the store as the export reads it, so "sleep
 * arrived" means "the sleep table has a row for that day".
 */

export const REPORT_FLAGS = ['no_data_2d', 'needs_reauth', 'subscription_expiring', 'outside_enrolment'] as const;
export type ReportFlag = (typeof REPORT_FLAGS)[number];

/** The kinds of data a day is complete with (each a table of the export). */
export const DAY_KINDS = ['sleep', 'readiness', 'activity'] as const;
export type DayKind = (typeof DAY_KINDS)[number];

/** One participant's day, as `report --json` writes it (CONTRACT, second edition). */
export interface ReportRow {
  participant: string;
  day: string;
  sleep: boolean;
  readiness: boolean;
  activity: boolean;
  hrv_minutes: number;
  wear_s: number | null;
  last_delivery_at: string | null;
  last_sync_at: string | null;
  flags: ReportFlag[];
  /**
   * How the documents of that day arrived (issue #17's gap accounting, as `events coverage`
   * counts them): a notification brought them, only a reconciliation pass of `listen` found
   * them, or only a `wearhook sync` fetched them.
   */
  documents_by_webhook: number;
  documents_by_reconciliation: number;
  documents_by_sync: number;
}

/**
 * What a day looks like: every expected kind arrived (`complete`), some data (`partial`),
 * none (`none`); outside the enrolment window (`not_enrolled`) or not yet lived (`future`).
 */
export type DayState = 'complete' | 'partial' | 'none' | 'not_enrolled' | 'future';

export interface ReportDay extends ReportRow {
  state: DayState;
}

export interface ParticipantReport {
  label: string;
  tz: string | null;
  start: string | null;
  end: string | null;
  accounts: { provider: string; user_id: string }[];
  /** The kinds this participant's providers deliver (a Vital-only participant has no readiness). */
  expected: DayKind[];
  days: ReportDay[];
  /** Every flag raised on any day, in REPORT_FLAGS order. */
  flags: ReportFlag[];
  /** Why, for the flags that have a reason beyond the day (needs_reauth, subscription_expiring). */
  reasons: Partial<Record<ReportFlag, string>>;
  last_delivery_at: string | null;
  last_sync_at: string | null;
  /** The days' documents by how they arrived, and of those a webhook or reconciliation brought, the share webhooks did. */
  arrivals: ArrivalCounts & { webhook_share: number | null };
}

export interface Report {
  from: string;
  to: string;
  generated_at: string;
  participants: ParticipantReport[];
}

export interface ReportOptions {
  /** First and last day, YYYY-MM-DD, inclusive. */
  from: string;
  to: string;
  /** Only these participants (labels); all when absent. */
  participants?: readonly string[];
  now?: Date;
  /**
   * The Oura users whose tokens the credential store holds; without it a missing token is not
   * noticed (the database knows of refusals, not of a credential file that lost a user).
   */
  ouraUsersWithTokens?: ReadonlySet<string>;
}

/** How long one HRV value stands for: Oura's interval, and the usual 5-minute RMSSD window. */
const HRV_WINDOW_MS = 300_000;
const DAY_S = 86_400;

/** Events after which a sender no longer delivers for the user until they connect again, by provider. */
const CONNECTION_EVENTS: Record<string, { broken: string[]; all: string[] }> = {
  vital: { broken: ['provider.connection.error'], all: ['provider.connection.created', 'provider.connection.error'] },
  'open-wearables': { broken: ['connection.revoked'], all: ['connection.created', 'connection.revoked'] },
};

/** What the report reads from the store besides the export's rows, in one operation. */
interface ReportFacts {
  participants: ParticipantRow[];
  links: AccountLink[];
  anyData: Map<string, Set<string>>;
  worn: Map<string, Map<string, number>>;
  arrived: Map<string, Map<string, ArrivalCounts>>;
  oura: Map<string, { needs_reauth: number; last_error: string | null }>;
  /** The newest connection event of each non-Oura linked account whose sender reports its connection, by accountKey. */
  connectionEvents: Map<string, { event_type: string; received_at: string }>;
  lastDelivery: Map<string, string | null>;
  lastSync: Map<string, string | null>;
  subscriptions: { data_type: string; event_type: string; expiration_time: string }[];
}

function* reportFactsOp(options: ReportOptions): Op<ReportFacts> {
  const participants = yield* selectParticipantsOp(options.participants);
  const links = yield* accountsOfOp(participants.map((p) => p.label));
  const accounts = links.map((a) => ({ provider: a.provider, userId: a.user_id }));
  // The day before `from` decides `no_data_2d` on `from`.
  const anyData = yield* daysWithDataOp(accounts, addDays(options.from, -1), options.to);
  const worn = yield* wornMinutesOp(options.from, options.to);
  const arrived = accounts.length === 0 ? new Map() : yield* arrivalsByDayOp({ from: options.from, to: options.to, accounts });
  const oura = new Map((yield* listUsersOp('oura')).map((u) => [u.user_id, u]));
  const connectionEvents = new Map<string, { event_type: string; received_at: string }>();
  const lastDelivery = new Map<string, string | null>();
  const lastSync = new Map<string, string | null>();
  for (const account of accounts) {
    const key = accountKey(account.provider, account.userId);
    lastDelivery.set(key, yield* lastDeliveryAtOp(account));
    lastSync.set(key, yield* lastSyncAtOp(account));
    const events = CONNECTION_EVENTS[account.provider];
    const latestEvent = events && (yield* latestEventOfOp(account, events.all));
    if (latestEvent) connectionEvents.set(key, latestEvent);
  }
  const subscriptions = yield* subscriptionExpiriesOp();
  return { participants, links, anyData, worn, arrived, oura, connectionEvents, lastDelivery, lastSync, subscriptions };
}

/**
 * The report over `from`..`to`, on SQLite or PostgreSQL. Days are YYYY-MM-DD text compared and
 * stepped in code (never date arithmetic in SQL), so both engines give the same days whatever
 * the machine's or the database's zone.
 */
export async function computeReport(store: Store, options: ReportOptions): Promise<Report> {
  if (options.from > options.to) throw new UsageError(`--from ${options.from} is after --to ${options.to}; give the earlier day first.`);
  const now = options.now ?? new Date();
  const { participants, links, anyData, worn, arrived, oura, connectionEvents, lastDelivery: deliveredAt, lastSync: syncedAt, subscriptions } =
    await store.read(reportFactsOp, options);
  const accounts = links.map((a) => ({ provider: a.provider, userId: a.user_id }));
  const tables = await readTables(store, accounts, options.from, options.to);
  const expiring = expiringSubscription(subscriptions, now);
  const kindsByProvider = providerKinds();

  const reports = participants.map((p): ParticipantReport => {
    const mine = links.filter((a) => a.label === p.label);
    const keys = mine.map((a) => accountKey(a.provider, a.user_id));
    const expected = DAY_KINDS.filter((kind) => mine.some((a) => kindsByProvider.get(a.provider)?.has(kind)));
    const hasData = (day: string) => keys.some((k) => anyData.get(k)?.has(day) ?? false);
    const today = localToday(now, p.tz);
    const enrolled = (day: string) => (p.start_day === null || day >= p.start_day) && (p.end_day === null || day <= p.end_day);
    const lastDelivery = latest(keys.map((k) => deliveredAt.get(k) ?? null));
    const lastSync = latest(keys.map((k) => syncedAt.get(k) ?? null));

    const reasons: ParticipantReport['reasons'] = {};
    const reauth = reauthReasons(p.label, mine, oura, connectionEvents, options.ouraUsersWithTokens);
    if (reauth.length > 0) reasons.needs_reauth = reauth.join('; ');
    if (expiring && mine.some((a) => a.provider === 'oura')) reasons.subscription_expiring = expiring;

    const days: ReportDay[] = [];
    const arrivals = emptyCounts();
    for (let day = options.from; day <= options.to; day = addDays(day, 1)) {
      const kinds = new Set<DayKind>();
      let hrvMs = 0;
      let wear: number | null = null;
      const counts = emptyCounts();
      for (const key of keys) {
        const c = arrived.get(key)?.get(day);
        if (c) for (const k of Object.keys(counts) as (keyof ArrivalCounts)[]) counts[k] += c[k];
        const t = tables.get(key)?.get(day);
        if (t) {
          for (const kind of t.kinds) kinds.add(kind);
          hrvMs += t.hrvMs;
          if (t.wearS !== null) wear = (wear ?? 0) + t.wearS;
        }
        const minutes = worn.get(key)?.get(day);
        if (minutes !== undefined) wear = (wear ?? 0) + minutes * 60;
      }
      const any = hasData(day);
      const future = day > today;
      const state: DayState = future
        ? 'future'
        : !enrolled(day)
          ? 'not_enrolled'
          : !any
            ? 'none'
            : expected.length === 0 || expected.every((k) => kinds.has(k))
              ? 'complete'
              : 'partial';
      const flags: ReportFlag[] = [];
      const previous = addDays(day, -1);
      if (!future && enrolled(day) && enrolled(previous) && !any && !hasData(previous)) flags.push('no_data_2d');
      if (!enrolled(day) && any) flags.push('outside_enrolment');
      days.push({
        participant: p.label,
        day,
        sleep: kinds.has('sleep'),
        readiness: kinds.has('readiness'),
        activity: kinds.has('activity'),
        hrv_minutes: Math.round(hrvMs / 60_000),
        wear_s: wear === null ? null : Math.min(wear, DAY_S),
        last_delivery_at: lastDelivery,
        last_sync_at: lastSync,
        flags,
        documents_by_webhook: counts.webhook,
        documents_by_reconciliation: counts.reconciliation,
        documents_by_sync: counts.sync,
        state,
      });
      for (const k of Object.keys(counts) as (keyof ArrivalCounts)[]) arrivals[k] += counts[k];
    }
    // Flags about the participant now, not about a day: on the last day of the report.
    const last = days[days.length - 1]!;
    if (reasons.needs_reauth) last.flags.push('needs_reauth');
    if (reasons.subscription_expiring) last.flags.push('subscription_expiring');
    last.flags.sort((a, b) => REPORT_FLAGS.indexOf(a) - REPORT_FLAGS.indexOf(b));
    const raised = new Set(days.flatMap((d) => d.flags));
    return {
      label: p.label,
      tz: p.tz,
      start: p.start_day,
      end: p.end_day,
      accounts: mine.map((a) => ({ provider: a.provider, user_id: a.user_id })),
      expected,
      days,
      flags: REPORT_FLAGS.filter((f) => raised.has(f)),
      reasons,
      last_delivery_at: lastDelivery,
      last_sync_at: lastSync,
      arrivals: { ...arrivals, webhook_share: webhookShare(arrivals) },
    };
  });
  return { from: options.from, to: options.to, generated_at: now.toISOString(), participants: reports };
}

/** The rows of `report --json`: one object per participant and day, in the CONTRACT's shape. */
export function reportRows(report: Report): ReportRow[] {
  return report.participants.flatMap((p) =>
    p.days.map((d) => ({
      participant: d.participant,
      day: d.day,
      sleep: d.sleep,
      readiness: d.readiness,
      activity: d.activity,
      hrv_minutes: d.hrv_minutes,
      wear_s: d.wear_s,
      last_delivery_at: d.last_delivery_at,
      last_sync_at: d.last_sync_at,
      flags: d.flags,
      documents_by_webhook: d.documents_by_webhook,
      documents_by_reconciliation: d.documents_by_reconciliation,
      documents_by_sync: d.documents_by_sync,
    })),
  );
}

function* selectParticipantsOp(labels: readonly string[] | undefined): Op<ParticipantRow[]> {
  if (labels === undefined) return yield* listParticipantsOp();
  const rows: ParticipantRow[] = [];
  const unknown: string[] = [];
  for (const label of new Set(labels)) {
    const row = yield* getParticipantOp(label);
    if (row) rows.push(row);
    else unknown.push(label);
  }
  if (unknown.length > 0) throw new UsageError(`No participant ${unknown.join(', ')}; see \`wearhook participants list\`.`);
  return rows;
}

interface DayTables {
  kinds: Set<DayKind>;
  hrvMs: number;
  wearS: number | null;
}

/**
 * The export's own rows of the four tables, summarised per account and day: which kinds have
 * a row, the HRV minutes measured (each value stands for the 5 minutes it summarises, overlaps
 * counted once), and the wear time of an activity day.
 */
async function readTables(store: Store, accounts: { provider: string; userId: string }[], from: string, to: string): Promise<Map<string, Map<string, DayTables>>> {
  const result = new Map<string, Map<string, DayTables>>();
  if (accounts.length === 0) return result;
  const at = (provider: string, userId: string, day: string): DayTables => {
    const key = accountKey(provider, userId);
    let perDay = result.get(key);
    if (!perDay) result.set(key, (perDay = new Map()));
    let entry = perDay.get(day);
    if (!entry) perDay.set(day, (entry = { kinds: new Set(), hrvMs: 0, wearS: null }));
    return entry;
  };
  const filter = { from, to, users: accounts };
  for (const kind of DAY_KINDS) {
    const type = kind;
    for await (const row of exportRowsOf(store, type, filter)) {
      const entry = at(String(row.provider), String(row.user_id), String(row.day));
      entry.kinds.add(kind);
      if (kind === 'activity') {
        const wear = wearSeconds(row);
        if (wear !== null) entry.wearS = Math.max(entry.wearS ?? 0, wear);
      }
    }
  }
  // HRV rows come sorted by user, day and time: measure the union of their 5-minute windows.
  let covered: { key: string; end: number } | undefined;
  for await (const row of exportRowsOf(store, 'hrv', filter)) {
    const instant = instantWithOffset(row.timestamp);
    if (instant === null) continue;
    const entry = at(String(row.provider), String(row.user_id), String(row.day));
    const key = `${accountKey(String(row.provider), String(row.user_id))}\u0000${String(row.day)}`;
    const from = covered?.key === key ? Math.max(instant, covered.end) : instant;
    const end = instant + HRV_WINDOW_MS;
    if (end > from) entry.hrvMs += end - from;
    covered = { key, end: covered?.key === key ? Math.max(covered.end, end) : end };
  }
  return result;
}

/**
 * Seconds the device was worn on an activity day: the worn classes (resting, sedentary, low,
 * medium, high) when all are known, which on a complete day is 24 h minus `non_wear_time`;
 * else 24 h minus the non-wear time; null when the provider says nothing of wear (Vital).
 */
function wearSeconds(row: Record<string, unknown>): number | null {
  const nonWear = row.non_wear_s;
  if (typeof nonWear !== 'number') return null;
  const worn = [row.resting_s, row.sedentary_s, row.low_activity_s, row.medium_activity_s, row.high_activity_s];
  if (worn.every((v) => typeof v === 'number')) return Math.round((worn as number[]).reduce((a, b) => a + b, 0));
  return Math.max(0, DAY_S - nonWear);
}

/** The export's rows of one table, from either engine (the console's charts read them too). */
export async function* exportRowsOf(store: Store, type: ExportType, filter: ExportFilter): AsyncGenerator<RowFields> {
  for await (const batch of exportRowBatches(store, type, filter)) yield* batch;
}

/** Which day kinds each provider can deliver, from the export's sources. */
function providerKinds(): Map<string, Set<DayKind>> {
  const kinds = new Map<string, Set<DayKind>>();
  for (const kind of DAY_KINDS) {
    for (const source of sourcesFor(kind)) {
      let set = kinds.get(source.provider);
      if (!set) kinds.set(source.provider, (set = new Set()));
      set.add(kind);
    }
  }
  return kinds;
}

/** Why a participant's data cannot come until someone acts: an Oura grant that is gone or never given, a sender's broken connection. */
function reauthReasons(
  label: string,
  accounts: { provider: string; user_id: string }[],
  oura: Map<string, { needs_reauth: number; last_error: string | null }>,
  connectionEvents: Map<string, { event_type: string; received_at: string }>,
  withTokens: ReadonlySet<string> | undefined,
): string[] {
  const reasons: string[] = [];
  const fix = `send them \`wearhook participants invite ${label}\` or run \`wearhook auth oura --label ${label}\``;
  for (const a of accounts) {
    if (a.provider === 'oura') {
      const user = oura.get(a.user_id);
      if (!user) reasons.push(`Oura user ${a.user_id} has not authorized wearhook yet; ${fix}`);
      else if (user.needs_reauth) reasons.push(`Oura user ${a.user_id}: ${user.last_error ?? 'the grant stopped working'}; ${fix}`);
      else if (withTokens && !withTokens.has(a.user_id)) reasons.push(`Oura user ${a.user_id}: no tokens in the credential store; ${fix}`);
      continue;
    }
    const events = CONNECTION_EVENTS[a.provider];
    if (!events) continue;
    const latestEvent = connectionEvents.get(accountKey(a.provider, a.user_id));
    if (latestEvent && events.broken.includes(latestEvent.event_type)) {
      reasons.push(`${a.provider} user ${a.user_id}: ${latestEvent.event_type} at ${latestEvent.received_at}`);
    }
  }
  return reasons;
}

/** A subscription that expires within 7 days (or has expired), as a reason; null when none does. */
function expiringSubscription(subscriptions: readonly { data_type: string; event_type: string; expiration_time: string }[], now: Date): string | null {
  const soon = subscriptions
    .map((s) => ({ ...s, at: Date.parse(s.expiration_time) }))
    .filter((s) => Number.isFinite(s.at) && s.at - now.getTime() <= EXPIRING_SOON_MS)
    .sort((a, b) => a.at - b.at);
  if (soon.length === 0) return null;
  const first = soon[0]!;
  const verb = first.at <= now.getTime() ? 'expired' : 'expires';
  const what = soon.length === 1 ? 'the Oura subscription' : `${soon.length} Oura subscriptions, first`;
  return `${what} ${first.data_type}.${first.event_type} ${verb} ${new Date(first.at).toISOString()}; renew with \`wearhook subs renew --expiring-within 7d\` (or run \`wearhook listen --subscribe\`, which renews them)`;
}

/** The participant's calendar date now: in their zone, else in the zone of the machine the researcher runs the report on. */
export function localToday(now: Date, zone: string | null): string {
  const z = zone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return localDate(now.getTime(), zoneOffsetAt(z, now.getTime()));
}

function latest(values: (string | null)[]): string | null {
  return values.reduce<string | null>((a, b) => (b !== null && (a === null || b > a) ? b : a), null);
}
