import type { DB } from '../../store/db.js';
import type { Settings } from '../../config/settings.js';
import type { HttpClient } from '../../net/http-client.js';
import { RuntimeError } from '../../errors.js';
import { CredentialStore, type StoredTokens } from '../../credentials/token-store.js';
import { getUserOp, updateUserTokenStateOp, type UserRow } from '../../store/users.js';
import { SqliteStore, type Store } from '../../store/store.js';
import { lock, type Op } from '../../store/sql.js';
import { OuraApi, type BearerSource } from './api.js';
import { ouraAppCredentials, ouraEndpoints, ouraHttpClient } from './http.js';
import { OuraGrantRejectedError, expiresAt, requestToken } from './oauth.js';

/**
 * What every Oura operation needs; `http` and `credentials` default to the real ones. The
 * users' token state is read and written through `store` (SQLite or PostgreSQL), or `db`
 * (a SQLite connection) when no store is given.
 */
export interface OuraDeps {
  db?: DB;
  store?: Store;
  settings: Settings;
  http?: HttpClient;
  credentials?: CredentialStore;
  now?: () => Date;
}

/** Refresh this long before the access token expires, so a request never starts with a dying token. */
export const REFRESH_AHEAD_MS = 5 * 60_000;

/** The user's grant is gone for good (refresh refused, no tokens): only `auth oura` helps. */
export class OuraReauthRequiredError extends RuntimeError {}

export function reauthCommand(label: string | null | undefined): string {
  return label ? `wearhook auth oura --label ${label}` : 'wearhook auth oura';
}

/** The store of `deps`: its own, or one over its SQLite connection. */
export function storeOf(deps: Pick<OuraDeps, 'db' | 'store'>): Store {
  if (deps.store) return deps.store;
  if (!deps.db) throw new Error('An Oura operation needs a store or a database.');
  return new SqliteStore(deps.db, deps.db.name);
}

/** Refreshes in flight in this process, so parallel requests of one user share one refresh. */
const inFlight = new Map<string, Promise<StoredTokens>>();

/**
 * A user's bearer token, kept fresh: refreshed ahead of expiry and after a 401, one refresh
 * at a time per user across all wearhook processes (a lock), the new pair saved before use.
 */
export class OuraUserSession implements BearerSource {
  private readonly credentials: CredentialStore;
  private readonly http: HttpClient;
  private readonly now: () => Date;
  private readonly store: Store;

  constructor(
    private readonly deps: OuraDeps,
    readonly user: UserRow,
  ) {
    this.store = storeOf(deps);
    this.credentials = deps.credentials ?? new CredentialStore();
    this.http = deps.http ?? ouraHttpClient();
    this.now = deps.now ?? (() => new Date());
  }

  async token(): Promise<string> {
    const tokens = this.stored();
    if (Date.parse(tokens.expires_at) - this.now().getTime() > REFRESH_AHEAD_MS) return tokens.access_token;
    return (await this.refresh(tokens.access_token)).access_token;
  }

  async renewAfterRejection(rejected: string): Promise<string> {
    return (await this.refresh(rejected)).access_token;
  }

  private stored(): StoredTokens {
    if (this.user.needs_reauth) throw this.reauthError(this.user.last_error ?? 'its authorization stopped working');
    const tokens = this.credentials.get('oura', this.user.user_id);
    if (!tokens) throw this.reauthError(`no tokens are stored in ${this.credentials.file}`);
    return tokens;
  }

  private refresh(staleAccessToken: string): Promise<StoredTokens> {
    const key = `${this.credentials.file}\0${this.user.user_id}`;
    let running = inFlight.get(key);
    if (!running) {
      running = this.credentials
        .withUserLock('oura', this.user.user_id, () => this.refreshAcrossStore(staleAccessToken))
        .finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  }

  /**
   * On PostgreSQL the receivers sharing the database may run on several machines, where the
   * credential file's lock does not reach: the refresh also holds the user's advisory lock
   * (a transaction that ends with it), so one process of the whole database refreshes at a
   * time, and the token state it records is read by the next one after it. SQLite's writer
   * lock must not be held across a network call: there the file lock is the whole story.
   */
  private async refreshAcrossStore(staleAccessToken: string): Promise<StoredTokens> {
    if (this.store.dialect !== 'postgres') return this.refreshLocked(staleAccessToken, this.store);
    // A refused grant commits its needs_reauth (every process must stop presenting the spent
    // token), so the transaction ends normally and the refusal is thrown after it.
    let refused: OuraReauthRequiredError | undefined;
    const tokens = await this.store.transaction(async (tx) => {
      await tx.run(lockRefreshOp, this.user.user_id);
      try {
        return await this.refreshLocked(staleAccessToken, tx);
      } catch (err) {
        if (!(err instanceof OuraReauthRequiredError)) throw err;
        refused = err;
        return undefined;
      }
    });
    if (refused) throw refused;
    return tokens!;
  }

  private async refreshLocked(staleAccessToken: string, store: Pick<Store, 'run'>): Promise<StoredTokens> {
    // Another process (or an earlier refresh) may have replaced the pair while we waited.
    const row = await store.run(getUserOp, 'oura', this.user.user_id);
    if (!row) throw this.reauthError('it was logged out meanwhile');
    if (row.needs_reauth) throw this.reauthError(row.last_error ?? 'its authorization stopped working');
    const current = this.stored();
    const fresh = Date.parse(current.expires_at) - this.now().getTime() > REFRESH_AHEAD_MS;
    if (current.access_token !== staleAccessToken && fresh) return current;
    // A process with a credential file of its own (another machine on this database) refreshed
    // after this file's pair was saved: its refresh token is spent. Presenting it again would
    // fail (and may make Oura revoke the grant), and marking the user for re-authorization
    // would stop every receiver, where only this file is behind.
    if (row.token_expires_at !== null && row.token_expires_at > current.expires_at) throw this.behindError();

    const endpoints = ouraEndpoints(this.deps.settings);
    const app = ouraAppCredentials(this.deps.settings);
    let answer;
    try {
      answer = await requestToken(this.http, endpoints, app, { grant_type: 'refresh_token', refresh_token: current.refresh_token });
    } catch (err) {
      if (!(err instanceof OuraGrantRejectedError)) throw err;
      // A lock lost to a stale-lock takeover could let another process spend it first: use theirs.
      const after = this.credentials.get('oura', this.user.user_id);
      if (after && after.refresh_token !== current.refresh_token) return after;
      const reason = `Oura refused its refresh token: ${err.reason}`;
      await store.run(updateUserTokenStateOp, 'oura', this.user.user_id, { needsReauth: true, lastError: reason }, new Date());
      throw this.reauthError(reason);
    }
    const now = this.now();
    const next: StoredTokens = {
      access_token: answer.access_token,
      refresh_token: answer.refresh_token,
      expires_at: expiresAt(answer, now),
      scopes: answer.scope ? answer.scope.split(/\s+/).filter(Boolean) : current.scopes,
      obtained_at: now.toISOString(),
    };
    // Saved before anyone uses it: the old refresh token is spent, this pair is the only way back in.
    await this.credentials.save('oura', this.user.user_id, next);
    await store.run(updateUserTokenStateOp, 'oura', this.user.user_id, { tokenExpiresAt: next.expires_at, needsReauth: false, lastError: null }, new Date());
    return next;
  }

  private behindError(): RuntimeError {
    return new RuntimeError(
      `The Oura tokens of user ${this.user.user_id} in ${this.credentials.file} are older than those another wearhook on this database refreshed with a credential file of its own; give every wearhook that shares the database one configuration folder (WEARHOOK_CONFIG_DIR).`,
    );
  }

  private reauthError(reason: string): OuraReauthRequiredError {
    const who = this.user.label ? `${this.user.label} (${this.user.user_id})` : this.user.user_id;
    return new OuraReauthRequiredError(`Oura user ${who} needs to authorize again (${reason}): run \`${reauthCommand(this.user.label)}\` again.`);
  }
}

/** An API client acting as one stored user. */
export function ouraApiForUser(deps: OuraDeps, user: UserRow): OuraApi {
  const http = deps.http ?? ouraHttpClient();
  const session = new OuraUserSession({ ...deps, http }, user);
  return new OuraApi(http, ouraEndpoints(deps.settings).apiUrl, session, {
    userId: user.user_id,
    label: user.label,
    scopes: user.scopes ? user.scopes.split(/\s+/).filter(Boolean) : null,
  });
}

/** Hold the refresh lock of one Oura user until the transaction ends (PostgreSQL; SQLite's writer lock already excludes). */
export function* lockRefreshOp(userId: string): Op<void> {
  yield* lock(`oura-refresh:${userId}`);
}

/** The stored Oura user with this id, or a clear error. */
export async function requireOuraUser(store: Store, userId: string): Promise<UserRow> {
  const user = await store.read(getUserOp, 'oura', userId);
  if (!user) throw new OuraUserUnknownError(`No Oura user ${userId} is authorized here; run \`wearhook auth oura\` for them first.`);
  return user;
}

/** Nobody has authorized wearhook for this Oura user (yet). */
export class OuraUserUnknownError extends RuntimeError {}
