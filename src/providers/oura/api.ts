import type { HttpClient, HttpResponse } from '../../net/http-client.js';
import { RuntimeError } from '../../errors.js';
import { ouraCollectionPath } from './documents.js';

/** Oura API v2 calls made with a user's bearer token: collections, one document, personal_info, heart rate. */

/** Where the bearer token comes from; a session refreshes it, a fresh login just has one. */
export interface BearerSource {
  token(): Promise<string>;
  /** The server refused `rejected` (401): get a new token or throw. Called at most once per request. */
  renewAfterRejection(rejected: string): Promise<string>;
}

export class FixedBearer implements BearerSource {
  constructor(private readonly accessToken: string) {}
  async token(): Promise<string> {
    return this.accessToken;
  }
  async renewAfterRejection(): Promise<string> {
    throw new OuraAuthError('Oura refused the access token it had just issued (401); run `wearhook auth oura` again.', 401);
  }
}

/** Whose data a client reads: names the user in error messages and tells a missing scope from a lapsed membership. */
export interface OuraUserContext {
  userId?: string;
  label?: string | null;
  /** Scopes the user granted, when known. */
  scopes?: readonly string[] | null;
}

export class OuraApiError extends RuntimeError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
/** 401: the token is expired or revoked even after a refresh (or the membership lapsed). */
export class OuraAuthError extends OuraApiError {}
/** 403: membership lapsed or scope not granted; `scope` names the one the data type needs. */
export class OuraForbiddenError extends OuraApiError {
  constructor(
    message: string,
    readonly dataType: string,
    readonly scope: string | null,
  ) {
    super(message, 403);
  }
}
export class OuraNotFoundError extends OuraApiError {}
/** 422: the request was refused as invalid; `details` are Oura's `detail` messages. */
export class OuraValidationError extends OuraApiError {
  constructor(
    message: string,
    readonly details: string[],
  ) {
    super(message, 422);
  }
}

/** The consent-page scope a data type needs (Oura's scope list; newer types fall under `daily`). */
const SCOPE_BY_TYPE: Record<string, string> = {
  heartrate: 'heartrate',
  workout: 'workout',
  tag: 'tag',
  enhanced_tag: 'tag',
  session: 'session',
  daily_spo2: 'spo2',
};

export function scopeFor(dataType: string): string | null {
  if (dataType === 'personal_info') return null;
  return SCOPE_BY_TYPE[dataType] ?? 'daily';
}

function hasScope(granted: readonly string[], scope: string): boolean {
  // The spec spells the SpO2 scope `spo2Daily`, the consent page `spo2`.
  return granted.includes(scope) || (scope === 'spo2' && granted.includes('spo2Daily'));
}

export interface OuraPersonalInfo {
  id: string;
  email?: string | null;
  age?: number | null;
  weight?: number | null;
  height?: number | null;
  biological_sex?: string | null;
}

export interface OuraHeartRate {
  timestamp: string;
  bpm: number;
  source: string;
}

interface Page<T> {
  data: T[];
  next_token: string | null;
}

export class OuraApi {
  constructor(
    private readonly http: HttpClient,
    private readonly apiUrl: string,
    private readonly auth: BearerSource,
    private readonly user: OuraUserContext = {},
  ) {}

  async personalInfo(): Promise<OuraPersonalInfo> {
    const res = await this.get('/v2/usercollection/personal_info', {}, 'personal_info');
    const body = parseJson<OuraPersonalInfo>(res, 'personal_info');
    if (typeof body?.id !== 'string' || body.id === '') {
      throw new RuntimeError('Oura answered personal_info without a user id; try again later.');
    }
    return body;
  }

  /** One document, or null when Oura does not know it (404: it may appear a little later). */
  async document(dataType: string, documentId: string, signal?: AbortSignal): Promise<unknown | null> {
    try {
      const res = await this.get(`/v2/usercollection/${ouraCollectionPath(dataType)}/${encodeURIComponent(documentId)}`, {}, dataType, signal);
      return parseJson(res, dataType);
    } catch (err) {
      if (err instanceof OuraNotFoundError) return null;
      throw err;
    }
  }

  /** Pages of a collection, following `next_token` until it is null. Dates are YYYY-MM-DD. */
  collectionPages(dataType: string, range?: { startDate: string; endDate: string }): AsyncGenerator<unknown[]> {
    const query: Record<string, string> = range ? { start_date: range.startDate, end_date: range.endDate } : {};
    return this.pages(`/v2/usercollection/${ouraCollectionPath(dataType)}`, query, dataType);
  }

  /** Pages of heart-rate samples between two ISO 8601 instants. */
  heartRatePages(range: { startDatetime: string; endDatetime: string }): AsyncGenerator<OuraHeartRate[]> {
    return this.pages<OuraHeartRate>(
      '/v2/usercollection/heartrate',
      { start_datetime: range.startDatetime, end_datetime: range.endDatetime },
      'heartrate',
    );
  }

  private async *pages<T>(path: string, query: Record<string, string>, dataType: string): AsyncGenerator<T[]> {
    const seen = new Set<string>();
    let nextToken: string | null = null;
    do {
      const res = await this.get(path, nextToken ? { ...query, next_token: nextToken } : query, dataType);
      const page = parseJson<Page<T>>(res, dataType);
      if (!page || !Array.isArray(page.data)) {
        throw new RuntimeError(`Oura answered ${dataType} without a data list; try again later.`);
      }
      yield page.data;
      nextToken = typeof page.next_token === 'string' && page.next_token !== '' ? page.next_token : null;
      if (nextToken !== null) {
        if (seen.has(nextToken)) throw new RuntimeError(`Oura repeated a next_token while paging ${dataType}; stopped to avoid a loop.`);
        seen.add(nextToken);
      }
    } while (nextToken !== null);
  }

  /**
   * A GET with the user's token; a 401 gets one renewed token and one more try. `signal` aborts
   * the GET only: a token refresh, once sent, is never cut (its answer is the only way back in).
   */
  private async get(path: string, query: Record<string, string>, dataType: string, signal?: AbortSignal): Promise<HttpResponse> {
    const url = new URL(`${this.apiUrl}${path}`);
    // URLSearchParams escapes `+` in offsets as %2B, as Oura needs.
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    let token = await this.auth.token();
    let res = await this.send(url, token, signal);
    if (res.status === 401) {
      token = await this.auth.renewAfterRejection(token);
      res = await this.send(url, token, signal);
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw this.failure(res, dataType);
  }

  private send(url: URL, token: string, signal?: AbortSignal): Promise<HttpResponse> {
    return this.http.request({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      retry: 'idempotent',
      signal,
    });
  }

  private failure(res: HttpResponse, dataType: string): OuraApiError {
    const who = this.describeUser();
    const again = this.reauthHint();
    const detail = errorDetail(res);
    switch (res.status) {
      case 401:
        return new OuraAuthError(
          `Oura refused the access token of ${who} for ${dataType} even after a refresh (401${detail ? `: ${detail[0]}` : ''}); the authorization was revoked or the membership lapsed: ${again}.`,
          401,
        );
      case 403: {
        const scope = scopeFor(dataType);
        const granted = this.user.scopes;
        let why: string;
        if (scope && granted && granted.length > 0 && !hasScope(granted, scope)) {
          why = `the \`${scope}\` scope that ${dataType} needs was not granted; ${again} and leave \`${scope}\` ticked on the consent page`;
        } else if (scope) {
          why = `the user's Oura membership has lapsed, or the \`${scope}\` scope that ${dataType} needs is missing (${again} to grant it)`;
        } else {
          why = 'the user\'s Oura membership has lapsed';
        }
        return new OuraForbiddenError(`Oura refused ${dataType} of ${who} (403): ${why}.`, dataType, scope);
      }
      case 404:
        return new OuraNotFoundError(`Oura does not know this ${dataType} document of ${who} (404).`, 404);
      case 422: {
        const details = detail ?? [];
        return new OuraValidationError(`Oura refused the ${dataType} request as invalid (422${details.length ? `: ${details.join('; ')}` : ''}).`, details);
      }
      case 429:
        return new OuraApiError(`Oura kept rate-limiting ${dataType} requests (429) after ${res.attempts} attempts; try again in a few minutes.`, 429);
      default:
        if (res.status >= 500) {
          return new OuraApiError(`Oura answered ${res.status} for ${dataType} after ${res.attempts} attempts; try again later.`, res.status);
        }
        return new OuraApiError(`Oura refused the ${dataType} request (${res.status}${detail ? `: ${detail.join('; ')}` : ''}).`, res.status);
    }
  }

  private describeUser(): string {
    const { userId, label } = this.user;
    if (!userId) return 'the user';
    return label ? `user ${label} (${userId})` : `user ${userId}`;
  }

  private reauthHint(): string {
    return this.user.label ? `run \`wearhook auth oura --label ${this.user.label}\` again` : 'run `wearhook auth oura` again';
  }
}

function parseJson<T>(res: HttpResponse, dataType: string): T {
  try {
    return res.json<T>();
  } catch {
    throw new RuntimeError(`Oura answered ${dataType} with a body that is not JSON; try again later.`);
  }
}

/** Oura's `detail`: a list of `{loc, msg}` or a plain string. */
export function errorDetail(res: HttpResponse): string[] | null {
  let body: { detail?: unknown };
  try {
    body = res.json();
  } catch {
    return null;
  }
  const detail = body?.detail;
  if (typeof detail === 'string') return [detail];
  if (Array.isArray(detail)) {
    return detail.map((d: { loc?: unknown[]; msg?: string }) =>
      Array.isArray(d?.loc) && d.loc.length ? `${d.loc.join('.')}: ${d.msg ?? 'invalid'}` : String(d?.msg ?? JSON.stringify(d)),
    );
  }
  return null;
}
