import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A small Oura look-alike on 127.0.0.1 for tests: the consent page (`/oauth/authorize`
 * redirects straight back), the token endpoint with SINGLE-USE refresh tokens, revoke,
 * `personal_info`, collections with `next_token` paging, one document, heart rate, and
 * injectable faults (429 with Retry-After, 5xx, 403, ...). Everything it saw is recorded so
 * tests can assert on it (e.g. that no refresh token was ever presented twice).
 *
 * Typical use:
 *   const oura = await startOuraFake({ pageSize: 2 });
 *   oura.addUser({ id: 'u1', email: 'a@example.com' });
 *   oura.addDocuments('u1', 'sleep', [{ id: 's1', day: '2026-01-02', ... }]);
 *   env: WEARHOOK_OURA_API_URL=oura.url, WEARHOOK_OURA_AUTHORIZE_URL=oura.authorizeUrl,
 *        OURA_CLIENT_ID=oura.clientId, OURA_CLIENT_SECRET=oura.clientSecret
 */

export interface FakeOuraUser {
  id: string;
  email: string | null;
  age: number | null;
  /** Documents by data type as `sync --type` names them (`vo2_max`, served at `/vO2_max`). */
  documents: Map<string, Record<string, unknown>[]>;
  heartrate: { timestamp: string; bpm: number; source: string }[];
}

export interface OuraFault {
  /** Matched against the request path (no query); a string must be equal, a RegExp must match. */
  path: string | RegExp;
  method?: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many matching requests fail this way (default 1). */
  times?: number;
  /** Let this many matching requests through first (a fault in the middle of paging). */
  after?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  /** The form fields of a POST to /oauth/token (secrets included: tests only). */
  form?: Record<string, string>;
  status: number;
  /** When the request arrived (epoch ms, the system clock). */
  at: number;
}

export interface ConsentDecision {
  /** Which fake user "logs in" on the consent page (default: the first added). */
  userId?: string;
  /** Send the user back with `error=access_denied`. */
  deny?: boolean;
  /** The scopes the user leaves ticked (default: those requested). */
  scope?: string;
  /** Echo this state instead of the one received (to test a forged answer). */
  state?: string;
  /** Send the user back with this `error` (and `error_description`). */
  error?: string;
  errorDescription?: string;
}

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'bearer';
  scope: string;
}

export interface OuraFakeOptions {
  clientId?: string;
  clientSecret?: string;
  /** `expires_in` of every access token issued (seconds, default one day). */
  expiresIn?: number;
  /** Documents per collection page (default 2, so paging is exercised). */
  pageSize?: number;
}

interface AccessGrant {
  userId: string;
  scope: string;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshGrant {
  userId: string;
  scope: string;
  used: boolean;
}

const DEFAULT_SCOPE = 'email personal daily heartrate workout tag session spo2';

export class OuraFake {
  readonly clientId: string;
  readonly clientSecret: string;
  expiresIn: number;
  pageSize: number;
  readonly users = new Map<string, FakeOuraUser>();
  /** What the next visit of the consent page does. */
  consent: ConsentDecision = {};
  /**
   * PKCE (RFC 7636): 'enforce' binds a code to the S256 challenge of its authorize request, as an
   * authorization server that supports PKCE does; 'ignore' takes no notice of it (Oura documents none).
   */
  pkce: 'enforce' | 'ignore' = 'enforce';
  readonly requests: RecordedRequest[] = [];
  /** Every refresh token presented to /oauth/token, in order. */
  readonly refreshTokensPresented: string[] = [];
  readonly revokedTokens: string[] = [];
  /** Answer refresh grants only after this long: widens the window in which two refreshes could overlap. */
  refreshDelayMs = 0;

  private readonly access = new Map<string, AccessGrant>();
  private readonly refresh = new Map<string, RefreshGrant>();
  private readonly codes = new Map<string, { userId: string; scope: string; redirectUri: string; used: boolean; challenge?: string }>();
  private readonly faults: (OuraFault & { remaining: number; skip: number })[] = [];
  private server!: http.Server;
  url = '';
  port = 0;

  constructor(options: OuraFakeOptions = {}) {
    this.clientId = options.clientId ?? 'fake-client-id';
    this.clientSecret = options.clientSecret ?? 'fake-client-secret-0123456789';
    this.expiresIn = options.expiresIn ?? 86_400;
    this.pageSize = options.pageSize ?? 2;
  }

  get authorizeUrl(): string {
    return `${this.url}/oauth/authorize`;
  }

  /** Environment for a wearhook child process talking to this fake. */
  env(): Record<string, string> {
    return {
      WEARHOOK_OURA_API_URL: this.url,
      WEARHOOK_OURA_AUTHORIZE_URL: this.authorizeUrl,
      OURA_CLIENT_ID: this.clientId,
      OURA_CLIENT_SECRET: this.clientSecret,
    };
  }

  async listen(): Promise<void> {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: String(err) }));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  addUser(user: { id: string; email?: string | null; age?: number | null }): FakeOuraUser {
    const created: FakeOuraUser = { id: user.id, email: user.email ?? null, age: user.age ?? null, documents: new Map(), heartrate: [] };
    this.users.set(user.id, created);
    return created;
  }

  /** Add or replace (same id) documents of one type. */
  addDocuments(userId: string, dataType: string, docs: Record<string, unknown>[]): void {
    const user = this.user(userId);
    const list = user.documents.get(dataType) ?? [];
    for (const doc of docs) {
      const i = list.findIndex((d) => d.id === doc.id);
      if (i >= 0) list[i] = doc;
      else list.push(doc);
    }
    list.sort((a, b) => String(a.day ?? '').localeCompare(String(b.day ?? '')));
    user.documents.set(dataType, list);
  }

  /** Oura no longer has these documents (deleted, or re-issued under a new id). */
  removeDocuments(userId: string, dataType: string, ids: string[]): void {
    const user = this.user(userId);
    user.documents.set(dataType, (user.documents.get(dataType) ?? []).filter((d) => !ids.includes(String(d.id))));
  }

  addHeartRate(userId: string, samples: { timestamp: string; bpm: number; source?: string }[]): void {
    const user = this.user(userId);
    user.heartrate.push(...samples.map((s) => ({ source: 'awake', ...s })));
    user.heartrate.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  }

  /** Tokens as if the user had just authorized; for seeding a credential store directly. */
  issueTokens(userId: string, options: { scope?: string; expiresIn?: number } = {}): IssuedTokens {
    this.user(userId);
    const scope = options.scope ?? DEFAULT_SCOPE;
    const expiresIn = options.expiresIn ?? this.expiresIn;
    const access_token = `at_${randomBytes(12).toString('hex')}`;
    const refresh_token = `rt_${randomBytes(12).toString('hex')}`;
    this.access.set(access_token, { userId, scope, expiresAt: Date.now() + expiresIn * 1000, revoked: false });
    this.refresh.set(refresh_token, { userId, scope, used: false });
    return { access_token, refresh_token, expires_in: expiresIn, token_type: 'bearer', scope };
  }

  /** From now on every access token issued so far for this user (or all users) answers 401. */
  expireAccessTokens(userId?: string): void {
    for (const grant of this.access.values()) {
      if (!userId || grant.userId === userId) grant.expiresAt = 0;
    }
  }

  /** Whether a data call with this token would succeed now. */
  isAccessTokenValid(token: string): boolean {
    const grant = this.access.get(token);
    return grant !== undefined && !grant.revoked && grant.expiresAt > Date.now();
  }

  /** Refresh tokens presented more than once (must stay empty). */
  reusedRefreshTokens(): string[] {
    const seen = new Set<string>();
    const again = new Set<string>();
    for (const t of this.refreshTokensPresented) (seen.has(t) ? again : seen).add(t);
    return [...again];
  }

  fail(fault: OuraFault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1, skip: fault.after ?? 0 });
  }

  requestsTo(pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  private user(userId: string): FakeOuraUser {
    const user = this.users.get(userId);
    if (!user) throw new Error(`fake Oura has no user ${userId}; addUser first`);
    return user;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const at = Date.now();
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      status: 0,
      at,
    };
    if (url.pathname === '/oauth/token') record.form = Object.fromEntries(new URLSearchParams(raw));
    this.requests.push(record);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const type = typeof body === 'string' ? 'text/plain' : 'application/json';
      res.writeHead(status, { 'content-type': type, ...headers }).end(text);
    };

    const fault = this.faults.find(
      (f) => f.remaining > 0 && (!f.method || f.method === method) && (typeof f.path === 'string' ? f.path === url.pathname : f.path.test(url.pathname)),
    );
    if (fault && fault.skip > 0) {
      fault.skip--;
    } else if (fault) {
      fault.remaining--;
      send(fault.status, fault.body ?? { detail: `injected ${fault.status}` }, fault.headers);
      return;
    }

    if (url.pathname === '/oauth/authorize' && method === 'GET') return this.authorize(url, res, record);
    if (url.pathname === '/oauth/token' && method === 'POST') {
      this.token(req, record.form ?? {}, (status, body) => {
        if (record.form?.grant_type === 'refresh_token' && this.refreshDelayMs > 0) setTimeout(() => send(status, body), this.refreshDelayMs);
        else send(status, body);
      });
      return;
    }
    if (url.pathname === '/oauth/revoke' && method === 'POST') {
      const token = url.searchParams.get('access_token') ?? '';
      const grant = this.access.get(token);
      if (!grant) return send(400, { error: 'invalid_token' });
      grant.revoked = true;
      for (const r of this.refresh.values()) if (r.userId === grant.userId) r.used = true;
      this.revokedTokens.push(token);
      return send(200, {});
    }

    const data = /^\/v2\/usercollection\/([A-Za-z0-9_]+)(?:\/([^/]+))?$/.exec(url.pathname);
    if (!data || method !== 'GET') return send(404, { detail: 'Not Found' });
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const grant = bearer ? this.access.get(bearer) : undefined;
    if (!bearer || !grant || grant.revoked || grant.expiresAt <= Date.now()) return send(401, { detail: 'Unauthorized' });
    const user = this.user(grant.userId);
    const [, segment, documentId] = data as unknown as [string, string, string | undefined];
    const dataType = segment.toLowerCase();

    if (dataType === 'personal_info') {
      return send(200, {
        id: user.id,
        age: user.age,
        weight: null,
        height: null,
        biological_sex: null,
        email: grant.scope.split(' ').includes('email') ? user.email : null,
      });
    }
    if (dataType === 'heartrate') {
      const start = Date.parse(url.searchParams.get('start_datetime') ?? '1970-01-01T00:00:00Z');
      const end = Date.parse(url.searchParams.get('end_datetime') ?? '2999-01-01T00:00:00Z');
      const rows = user.heartrate.filter((s) => Date.parse(s.timestamp) >= start && Date.parse(s.timestamp) <= end);
      return send(200, this.page(rows, url.searchParams.get('next_token')));
    }
    const docs = user.documents.get(dataType) ?? [];
    if (documentId !== undefined) {
      const doc = docs.find((d) => d.id === documentId);
      return doc ? send(200, doc) : send(404, { detail: 'Document not found.' });
    }
    const startDate = url.searchParams.get('start_date');
    const endDate = url.searchParams.get('end_date');
    const rows = docs.filter((d) => {
      if (typeof d.day !== 'string') return true;
      return (!startDate || d.day >= startDate) && (!endDate || d.day <= endDate);
    });
    return send(200, this.page(rows, url.searchParams.get('next_token')));
  }

  private page<T>(rows: T[], nextToken: string | null): { data: T[]; next_token: string | null } {
    const offset = nextToken ? Number(Buffer.from(nextToken, 'base64url').toString('utf8')) : 0;
    const end = offset + this.pageSize;
    return {
      data: rows.slice(offset, end),
      next_token: end < rows.length ? Buffer.from(String(end)).toString('base64url') : null,
    };
  }

  private authorize(url: URL, res: http.ServerResponse, record: RecordedRequest): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== this.clientId || q.get('response_type') !== 'code' || !redirectUri) {
      record.status = 400;
      res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid authorize request');
      return;
    }
    const decision = this.consent;
    const back = new URL(redirectUri);
    const state = decision.state ?? q.get('state');
    if (decision.deny || decision.error) {
      back.searchParams.set('error', decision.error ?? 'access_denied');
      if (decision.errorDescription) back.searchParams.set('error_description', decision.errorDescription);
    } else {
      const userId = decision.userId ?? this.users.keys().next().value;
      if (!userId) throw new Error('fake Oura has no user to log in; addUser first');
      const scope = decision.scope ?? q.get('scope') ?? DEFAULT_SCOPE;
      const code = `code_${randomBytes(8).toString('hex')}`;
      const challenge = this.pkce === 'enforce' && q.get('code_challenge_method') === 'S256' ? (q.get('code_challenge') ?? undefined) : undefined;
      this.codes.set(code, { userId, scope, redirectUri, used: false, challenge });
      back.searchParams.set('code', code);
      back.searchParams.set('scope', scope);
    }
    if (state !== null) back.searchParams.set('state', state);
    record.status = 302;
    res.writeHead(302, { location: back.toString() }).end();
  }

  private token(
    req: http.IncomingMessage,
    form: Record<string, string>,
    send: (status: number, body?: unknown) => void,
  ): void {
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const [basicId, basicSecret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':') : [];
    const clientId = form.client_id ?? basicId;
    const clientSecret = form.client_secret ?? basicSecret;
    if (clientId !== this.clientId || clientSecret !== this.clientSecret) return send(401, { error: 'invalid_client' });

    if (form.grant_type === 'authorization_code') {
      const code = this.codes.get(form.code ?? '');
      if (!code || code.used || code.redirectUri !== form.redirect_uri) return send(400, { error: 'invalid_grant' });
      if (code.challenge && createHash('sha256').update(form.code_verifier ?? '').digest('base64url') !== code.challenge) {
        return send(400, { error: 'invalid_grant', error_description: 'code_verifier does not match' });
      }
      code.used = true;
      return send(200, tokenResponse(this.issueTokens(code.userId, { scope: code.scope })));
    }
    if (form.grant_type === 'refresh_token') {
      const presented = form.refresh_token ?? '';
      this.refreshTokensPresented.push(presented);
      const grant = this.refresh.get(presented);
      if (!grant || grant.used) return send(400, { error: 'invalid_grant' });
      grant.used = true;
      return send(200, tokenResponse(this.issueTokens(grant.userId, { scope: grant.scope })));
    }
    send(400, { error: 'unsupported_grant_type' });
  }
}

export async function startOuraFake(options: OuraFakeOptions = {}): Promise<OuraFake> {
  const fake = new OuraFake(options);
  await fake.listen();
  return fake;
}

/** What Oura's token endpoint answers (PROVIDERS.md): no scope field. */
function tokenResponse(t: IssuedTokens) {
  return { token_type: t.token_type, access_token: t.access_token, expires_in: t.expires_in, refresh_token: t.refresh_token };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
