import type { HttpClient, HttpResponse } from '../../net/http-client.js';
import type { Settings } from '../../config/settings.js';
import { RuntimeError } from '../../errors.js';
import { OuraApiError, OuraValidationError, errorDetail } from './api.js';
import { ouraAppCredentials, ouraEndpoints, ouraHttpClient, type OuraAppCredentials } from './http.js';

/** A webhook subscription as Oura returns it; the verification token is never echoed back. */
export interface OuraSubscription {
  id: string;
  callback_url: string;
  event_type: string;
  data_type: string;
  expiration_time: string;
}

export interface CreateSubscriptionRequest {
  callbackUrl: string;
  verificationToken: string;
  eventType: string;
  dataType: string;
}

/** 403 on a route with an id: that is how Oura says the subscription does not exist. */
export class NoSuchSubscriptionError extends OuraApiError {
  constructor(readonly subscriptionId: string) {
    super(`no such subscription: ${subscriptionId} (Oura answered 403); run \`wearhook subs list\` to see the ids.`, 403);
  }
}

/** 401 (or 403 where no id is involved): the application's client id or secret is not accepted. */
export class CredentialsRejectedError extends OuraApiError {}

/**
 * Create answered with a client error that is not about the request's fields: Oura's check
 * of the callback URL failed. Oura does not document this answer, so this is inferred.
 */
export class CallbackVerificationError extends OuraApiError {
  constructor(readonly callbackUrl: string, status: number, detail: string) {
    super(`Oura could not verify the callback URL ${callbackUrl} (HTTP ${status}${detail ? `: ${detail}` : ''}).`, status);
  }
}

/** Why Oura's callback check fails, in the order users hit them. */
export const CALLBACK_VERIFICATION_HELP = [
  'During create, Oura calls GET <callback-url>?verification_token=...&challenge=... and expects 200 {"challenge": ...}. Likely causes:',
  '  - the receiver is not running: start `wearhook listen` first (or use `wearhook listen --subscribe`);',
  '  - the URL is not public: Oura must reach it from the internet (use a tunnel, e.g. `wearhook listen --tunnel localtunnel`), and the path must be /oura;',
  '  - the token differs: the receiver answering there uses another database or another --verification-token than this command.',
].join('\n');

const PATH = '/v2/webhook/subscription';

/**
 * Oura's webhook subscription routes, called with the application's credentials in the
 * `x-client-id` and `x-client-secret` headers (never a user's token).
 */
export class OuraSubscriptionsApi {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly credentials: OuraAppCredentials,
    private readonly http: HttpClient = ouraHttpClient(),
  ) {
    this.base = apiUrl.replace(/\/+$/, '');
  }

  /** The API on the configured endpoint; missing credentials are a usage error that names the fix. */
  static fromSettings(settings: Settings, http?: HttpClient): OuraSubscriptionsApi {
    return new OuraSubscriptionsApi(ouraEndpoints(settings).apiUrl, ouraAppCredentials(settings), http);
  }

  async list(): Promise<OuraSubscription[]> {
    const res = await this.send('GET', PATH);
    if (res.status !== 200) throw this.error(res);
    const body = safeJson(res);
    if (!Array.isArray(body)) throw new RuntimeError('Oura answered the subscription list with something that is not a list.');
    return body.map(asSubscription);
  }

  /** Oura checks the callback URL before it answers: the receiver must be reachable there. */
  async create(req: CreateSubscriptionRequest): Promise<OuraSubscription> {
    const res = await this.send('POST', PATH, {
      callback_url: req.callbackUrl,
      verification_token: req.verificationToken,
      event_type: req.eventType,
      data_type: req.dataType,
    });
    if (res.status === 201 || res.status === 200) return asSubscription(res.json());
    const detail = detailText(res);
    if (res.status === 409) {
      throw new OuraApiError(
        `Oura already has a ${req.dataType}/${req.eventType} subscription (HTTP 409${detail ? `: ${detail}` : ''}); delete it first or renew it.`,
        409,
      );
    }
    // A 422 is about the fields, unless it is one plain sentence about the callback check.
    const aboutCallback = typeof (safeJson(res) as { detail?: unknown } | undefined)?.detail === 'string' && /verif|challenge|callback/i.test(detail);
    const clientError = res.status >= 400 && res.status < 500 && ![401, 403, 429].includes(res.status);
    if (clientError && (res.status !== 422 || aboutCallback)) {
      throw new CallbackVerificationError(req.callbackUrl, res.status, detail);
    }
    throw this.error(res);
  }

  /** Returns the subscription with its new expiration time. */
  async renew(id: string): Promise<OuraSubscription> {
    const res = await this.send('PUT', `${PATH}/renew/${encodeURIComponent(id)}`);
    if (res.status === 200) return asSubscription(res.json());
    throw this.error(res, id);
  }

  async delete(id: string): Promise<void> {
    const res = await this.send('DELETE', `${PATH}/${encodeURIComponent(id)}`);
    if (res.status === 204 || res.status === 200) return;
    // A retried DELETE whose first attempt went through finds nothing left: that is done.
    if (res.status === 403 && res.attempts > 1) return;
    throw this.error(res, id);
  }

  private send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      'x-client-id': this.credentials.clientId,
      'x-client-secret': this.credentials.clientSecret,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.http.request({ method, url: `${this.base}${path}`, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  private error(res: HttpResponse, id?: string): OuraApiError {
    const detail = detailText(res);
    if (res.status === 403 && id !== undefined) return new NoSuchSubscriptionError(id);
    if (res.status === 422) {
      const details = errorDetail(res) ?? [];
      return new OuraValidationError(`Oura refused the request (422${details.length ? `: ${details.join('; ')}` : ''}).`, details);
    }
    if (res.status === 401 || res.status === 403) {
      return new CredentialsRejectedError(
        `Oura refused the application's credentials (HTTP ${res.status}${detail ? `: ${detail}` : ''}); check OURA_CLIENT_ID and OURA_CLIENT_SECRET (or \`wearhook config get oura.clientId\`).`,
        res.status,
      );
    }
    const retryHint = res.status >= 500 || res.status === 429 ? '; try again later' : '';
    return new OuraApiError(`Oura answered HTTP ${res.status}${detail ? `: ${detail}` : ''}${retryHint}.`, res.status);
  }
}

/** Oura's `detail` as one line, or a short excerpt of a body that is not Oura's (a proxy's error page). */
function detailText(res: HttpResponse): string {
  const details = errorDetail(res);
  if (details) return details.join('; ');
  return res.text().replace(/\s+/g, ' ').trim().slice(0, 200);
}

function safeJson(res: HttpResponse): unknown {
  try {
    return res.json();
  } catch {
    return undefined;
  }
}

function asSubscription(value: unknown): OuraSubscription {
  const s = value as Partial<OuraSubscription> | null;
  if (!s || typeof s !== 'object' || typeof s.id !== 'string' || typeof s.data_type !== 'string' || typeof s.event_type !== 'string') {
    throw new RuntimeError('Oura answered with a subscription that has no id, data type or event type.');
  }
  return {
    id: s.id,
    callback_url: String(s.callback_url ?? ''),
    event_type: s.event_type,
    data_type: s.data_type,
    expiration_time: String(s.expiration_time ?? ''),
  };
}
