import { HttpClient, type HttpResponse } from '../../net/http-client.js';
import type { Settings } from '../../config/settings.js';
import { RuntimeError } from '../../errors.js';

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

/** Any answer from Oura's subscription routes that is not a success. */
export class OuraApiError extends RuntimeError {
  constructor(
    message: string,
    readonly status: number,
    /** Oura's own words (its `detail`), for reports. */
    readonly detail: string,
  ) {
    super(message);
  }
}

/** 403 on a route with an id: that is how Oura says the subscription does not exist. */
export class NoSuchSubscriptionError extends OuraApiError {
  constructor(readonly subscriptionId: string, detail: string) {
    super(`no such subscription: ${subscriptionId} (Oura answered 403); run \`wearhook subs list\` to see the ids.`, 403, detail);
  }
}

/** 422: the request broke Oura's rules; `fieldMessages` are "field: message" lines. */
export class OuraValidationError extends OuraApiError {
  constructor(readonly fieldMessages: string[], detail: string) {
    super(`Oura refused the request (422): ${fieldMessages.join('; ')}.`, 422, detail);
  }
}

/** 401: the application's client id or secret is wrong. */
export class CredentialsRejectedError extends OuraApiError {}

/**
 * Create answered with a client error that is not about the request's fields: Oura's check
 * of the callback URL failed. Oura does not document this answer, so this is inferred.
 */
export class CallbackVerificationError extends OuraApiError {
  constructor(readonly callbackUrl: string, status: number, detail: string) {
    super(
      `Oura could not verify the callback URL ${callbackUrl} (HTTP ${status}${detail ? `: ${detail}` : ''}).`,
      status,
      detail,
    );
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
    private readonly credentials: { clientId: string; clientSecret: string },
    private readonly http: HttpClient = new HttpClient(),
  ) {
    this.base = apiUrl.replace(/\/+$/, '');
  }

  /** The API on the configured endpoint; missing credentials are a usage error that names the fix. */
  static fromSettings(settings: Settings, http?: HttpClient): OuraSubscriptionsApi {
    const clientId = settings.require('oura.clientId', 'The Oura client id');
    const clientSecret = settings.require('oura.clientSecret', 'The Oura client secret');
    return new OuraSubscriptionsApi(settings.require('oura.apiUrl', 'The Oura API URL'), { clientId, clientSecret }, http);
  }

  async list(): Promise<OuraSubscription[]> {
    const res = await this.send('GET', PATH);
    if (res.status !== 200) throw this.error(res);
    const body = res.json<unknown>();
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
    const detail = errorDetail(res);
    if (res.status === 409) {
      throw new OuraApiError(
        `Oura already has a ${req.dataType}/${req.eventType} subscription (HTTP 409${detail.text ? `: ${detail.text}` : ''}); delete it first or renew it.`,
        409,
        detail.text,
      );
    }
    // A 422 is about the fields, unless Oura's words are about the callback check.
    const aboutCallback = detail.fields.length === 0 && /verif|challenge|callback/i.test(detail.text);
    const clientError = res.status >= 400 && res.status < 500 && ![401, 403, 429].includes(res.status);
    if (clientError && (res.status !== 422 || aboutCallback)) {
      throw new CallbackVerificationError(req.callbackUrl, res.status, detail.text);
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
    const detail = errorDetail(res);
    if (res.status === 403 && id !== undefined) return new NoSuchSubscriptionError(id, detail.text);
    if (res.status === 422) return new OuraValidationError(detail.fields.length > 0 ? detail.fields : [detail.text || 'no details given'], detail.text);
    if (res.status === 401 || res.status === 403) {
      return new CredentialsRejectedError(
        `Oura refused the application's credentials (HTTP ${res.status}${detail.text ? `: ${detail.text}` : ''}); check OURA_CLIENT_ID and OURA_CLIENT_SECRET (or \`wearhook config get oura.clientId\`).`,
        res.status,
        detail.text,
      );
    }
    const retryHint = res.status >= 500 || res.status === 429 ? '; try again later' : '';
    return new OuraApiError(`Oura answered HTTP ${res.status}${detail.text ? `: ${detail.text}` : ''}${retryHint}.`, res.status, detail.text);
  }
}

/**
 * Oura's error bodies: `{detail: [{loc, msg, type}]}` (validation), `{detail: "..."}`, or
 * something else entirely (a proxy's HTML page): keep a short, printable excerpt of that.
 */
export function errorDetail(res: Pick<HttpResponse, 'text'>): { text: string; fields: string[] } {
  const raw = res.text();
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { text: raw.replace(/\s+/g, ' ').trim().slice(0, 200), fields: [] };
  }
  const detail = (body as { detail?: unknown; message?: unknown } | null)?.detail ?? (body as { message?: unknown } | null)?.message;
  if (typeof detail === 'string') return { text: detail, fields: [] };
  if (Array.isArray(detail)) {
    const fields = detail.map(fieldMessage);
    return { text: fields.join('; '), fields };
  }
  return { text: raw.slice(0, 200), fields: [] };
}

function fieldMessage(item: unknown): string {
  const { loc, msg } = (item ?? {}) as { loc?: unknown; msg?: unknown };
  // FastAPI locations start with where the field was ("body", "path", "query").
  const where = Array.isArray(loc) ? loc.filter((part, i) => !(i === 0 && ['body', 'path', 'query'].includes(String(part)))).join('.') : '';
  const text = typeof msg === 'string' ? msg : JSON.stringify(item);
  return where ? `${where}: ${text}` : text;
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
