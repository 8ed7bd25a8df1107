import type { DB } from '../../store/db.js';
import type { Settings } from '../../config/settings.js';
import type { HttpClient } from '../../net/http-client.js';
import { RuntimeError } from '../../errors.js';
import { CredentialStore, type StoredTokens } from '../../credentials/token-store.js';
import { getUser, updateUserTokenState, type UserRow } from '../../store/users.js';
import { OuraApi, type BearerSource } from './api.js';
import { ouraAppCredentials, ouraEndpoints, ouraHttpClient } from './http.js';
import { OuraGrantRejectedError, expiresAt, requestToken } from './oauth.js';

/** What every Oura operation needs; `http` and `credentials` default to the real ones. */
export interface OuraDeps {
  db: DB;
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

  constructor(
    private readonly deps: OuraDeps,
    readonly user: UserRow,
  ) {
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
        .withUserLock('oura', this.user.user_id, () => this.refreshLocked(staleAccessToken))
        .finally(() => inFlight.delete(key));
      inFlight.set(key, running);
    }
    return running;
  }

  private async refreshLocked(staleAccessToken: string): Promise<StoredTokens> {
    // Another process (or an earlier refresh) may have replaced the pair while we waited.
    const current = this.stored();
    const fresh = Date.parse(current.expires_at) - this.now().getTime() > REFRESH_AHEAD_MS;
    if (current.access_token !== staleAccessToken && fresh) return current;

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
      updateUserTokenState(this.deps.db, 'oura', this.user.user_id, { needsReauth: true, lastError: reason });
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
    updateUserTokenState(this.deps.db, 'oura', this.user.user_id, { tokenExpiresAt: next.expires_at, needsReauth: false, lastError: null });
    return next;
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

/** The stored Oura user with this id, or a clear error. */
export function requireOuraUser(db: DB, userId: string): UserRow {
  const user = getUser(db, 'oura', userId);
  if (!user) throw new OuraUserUnknownError(`No Oura user ${userId} is authorized here; run \`wearhook auth oura\` for them first.`);
  return user;
}

/** Nobody has authorized wearhook for this Oura user (yet). */
export class OuraUserUnknownError extends RuntimeError {}
