import http from 'node:http';
import dns from 'node:dns/promises';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { HttpClient } from '../../net/http-client.js';
import { RuntimeError, UsageError } from '../../errors.js';
import type { OuraAppCredentials, OuraEndpoints } from './http.js';

/**
 * The OAuth 2.0 authorization-code flow against Oura, with a loopback redirect on
 * `localhost` (127.0.0.1, and [::1] when `localhost` names it too), `state` checked, and PKCE.
 */

export const DEFAULT_SCOPES = 'email personal daily heartrate workout tag session spo2';

export function newState(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * PKCE (RFC 7636, S256): the code is worth nothing without the verifier, which never leaves this
 * process until the exchange, so a code intercepted on its way back cannot be spent by anyone
 * else. Oura does not document PKCE; a server that ignores the parameters works as before.
 */
export function newPkce(): { verifier: string; challenge: string } {
  return pkceOf(randomBytes(32).toString('base64url')); // 43 characters of [A-Za-z0-9_-]
}

/** A PKCE pair from its verifier (43 to 128 characters of [A-Za-z0-9._~-]). */
export function pkceOf(verifier: string): { verifier: string; challenge: string } {
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeUrl(
  endpoints: OuraEndpoints,
  params: { clientId: string; redirectUri: string; state: string; scopes: string; codeChallenge?: string },
): string {
  const url = new URL(endpoints.authorizeUrl);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', params.clientId);
  url.searchParams.set('redirect_uri', params.redirectUri);
  url.searchParams.set('state', params.state);
  url.searchParams.set('scope', params.scopes);
  if (params.codeChallenge) {
    url.searchParams.set('code_challenge', params.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
  }
  return url.toString();
}

export interface CallbackResult {
  code: string;
  /** The scopes the user left ticked, when Oura says so. */
  scope: string | null;
}

export interface LoopbackServer {
  /** `http://localhost:<port>/callback`: what must be registered on the Oura application. */
  redirectUri: string;
  port: number;
  /** Resolves with the code; rejects on denied consent, a wrong state or the timeout. */
  callback: Promise<CallbackResult>;
  /** Answer the waiting browser once the code has been exchanged (or failed to). */
  finish(outcome: { ok: boolean; title: string; message: string }): void;
  close(): Promise<void>;
}

/** The addresses `localhost` names on this machine. */
async function localhostAddresses(): Promise<string[]> {
  try {
    return (await dns.lookup('localhost', { all: true })).map((a) => a.address);
  } catch {
    return ['127.0.0.1'];
  }
}

const isLoopback = (address: string) => address === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);

/**
 * Listen for the one `GET /callback` that ends the login, on 127.0.0.1:<port> and on every
 * other loopback address `localhost` names here (a browser may try [::1] first). The browser
 * waits on that request until `finish`, so its page can say whether the whole login worked.
 *
 * Any web page can make the browser send a callback, so one whose `state` is not this login's
 * is answered 400 and ignored: the login keeps waiting for the real one.
 */
export async function listenForCallback(options: {
  port: number;
  state: string;
  timeoutMs: number;
  /** The addresses of `localhost` (tests set them). */
  resolveLocalhost?: () => Promise<string[]>;
}): Promise<LoopbackServer> {
  let resolveCallback!: (r: CallbackResult) => void;
  let rejectCallback!: (e: Error) => void;
  const callback = new Promise<CallbackResult>((resolve, reject) => {
    resolveCallback = resolve;
    rejectCallback = reject;
  });
  // The caller awaits it later; a rejection before then must not count as unhandled.
  callback.catch(() => undefined);
  let settled = false;
  let waiting: http.ServerResponse | undefined;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: wearhook only answers /callback here.');
      return;
    }
    if (settled) {
      sendPage(res, 409, 'Already handled', 'This login has already been answered; return to the terminal.');
      return;
    }
    const q = url.searchParams;
    const fail = (title: string, message: string): void => {
      settled = true;
      sendPage(res, 400, title, message);
      rejectCallback(new RuntimeError(message));
    };
    if (!sameSecret(q.get('state') ?? '', options.state)) {
      // Not this login's answer (a stale tab, or a page trying to end the login): refuse it, keep waiting.
      sendPage(res, 400, 'Not this login', 'This answer does not belong to the login wearhook is waiting for (wrong state); it was ignored. Finish the login in the tab wearhook opened.');
      return;
    }
    const error = q.get('error');
    if (error === 'access_denied') {
      fail('Access declined', 'Access was declined on the Oura consent page (access_denied); run `wearhook auth oura` again and allow access.');
      return;
    }
    if (error) {
      const description = q.get('error_description');
      fail('Login failed', `Oura refused the authorization (${error}${description ? `: ${description}` : ''}); check the application settings and run \`wearhook auth oura\` again.`);
      return;
    }
    const code = q.get('code');
    if (!code) {
      fail('Login failed', 'The answer from Oura carried no authorization code; run `wearhook auth oura` again.');
      return;
    }
    settled = true;
    waiting = res;
    resolveCallback({ code, scope: q.get('scope') });
  });

  const addresses = await (options.resolveLocalhost ?? localhostAddresses)();
  const foreign = addresses.filter((a) => !isLoopback(a));
  if (foreign.length > 0) {
    throw new RuntimeError(`localhost names ${foreign.join(', ')} on this machine, not a loopback address, so the browser's answer would not reach wearhook; fix the localhost line of /etc/hosts.`);
  }
  // 127.0.0.1 first (its port is the one for all), then whatever else localhost names.
  const hosts = ['127.0.0.1', ...new Set(addresses.filter((a) => a !== '127.0.0.1'))];
  const servers = [server, ...hosts.slice(1).map(() => http.createServer(server.listeners('request')[0] as http.RequestListener))];
  let port = options.port;
  try {
    for (const [i, host] of hosts.entries()) {
      await listenOn(servers[i]!, port, host);
      port = (servers[i]!.address() as AddressInfo).port;
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))));
    throw err;
  }

  const timer = setTimeout(() => {
    if (settled) return;
    settled = true;
    rejectCallback(
      new RuntimeError(
        `No answer from the Oura consent page within ${Math.round(options.timeoutMs / 1000)} s; run \`wearhook auth oura\` again (--timeout to wait longer).`,
      ),
    );
  }, options.timeoutMs);

  return {
    redirectUri: `http://localhost:${port}/callback`,
    port,
    callback,
    finish(outcome) {
      if (!waiting) return;
      sendPage(waiting, outcome.ok ? 200 : 500, outcome.title, outcome.message);
      waiting = undefined;
    },
    async close() {
      clearTimeout(timer);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              // Let a page being written finish, then drop idle keep-alive sockets.
              s.closeIdleConnections();
            }),
        ),
      );
    },
  };
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  const where = host.includes(':') ? `[${host}]` : host;
  return new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new RuntimeError(`Port ${port} on ${where} is already in use; stop what uses it or pass --port with another port (and register http://localhost:<port>/callback on the Oura application).`));
      } else if (err.code === 'EACCES') {
        reject(new UsageError(`Not allowed to listen on port ${port}; pass --port with a port above 1024.`));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new RuntimeError(`localhost names ${host} on this machine, but wearhook cannot listen there (${err.code}); fix the localhost line of /etc/hosts or enable that address.`));
      } else {
        reject(new RuntimeError(`Cannot listen on ${where}:${port}: ${err.message}`));
      }
    });
    server.listen(port, host, () => resolve());
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A plain HTML page that ends an authorization: the loopback login's (the person is at the
 * terminal) and remote enrolment's (a participant at home), which says `closing` instead.
 */
export function sendPage(
  res: http.ServerResponse,
  status: number,
  title: string,
  message: string,
  closing = 'You can close this tab and return to the terminal.',
): void {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>wearhook: ${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}
h1{font-size:1.4rem}.ok{color:#1a7f37}.fail{color:#b42318}</style></head>
<body><h1 class="${status === 200 ? 'ok' : 'fail'}">${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>
${closing ? `<p>${escapeHtml(closing)}</p>` : ''}</body></html>
`;
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // The pages' addresses carry secrets (an enrolment token, an authorization code): never pass them on.
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
      connection: 'close',
    })
    .end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** What `/oauth/token` answers. */
export interface TokenResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
  scope?: string;
}

/** The token endpoint said the code or refresh token is no good (used, revoked, expired). */
export class OuraGrantRejectedError extends RuntimeError {
  constructor(
    message: string,
    /** Oura's own words, e.g. `invalid_grant`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/**
 * POST to `/oauth/token`. Never repeated once the server may have seen it: a refresh token
 * works exactly once, and a lost answer must not be followed by a second spend.
 */
export async function requestToken(
  http: HttpClient,
  endpoints: OuraEndpoints,
  app: OuraAppCredentials,
  grant: { grant_type: 'authorization_code'; code: string; redirect_uri: string; code_verifier?: string } | { grant_type: 'refresh_token'; refresh_token: string },
): Promise<TokenResponse> {
  const body = new URLSearchParams({ ...grant, client_id: app.clientId, client_secret: app.clientSecret }).toString();
  const res = await http.request({
    method: 'POST',
    url: endpoints.tokenUrl,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body,
    retry: 'unsafe',
  });
  let parsed: Partial<TokenResponse> & { error?: string; error_description?: string } = {};
  try {
    parsed = res.json();
  } catch {
    // Not JSON: described by status below.
  }
  if (res.status === 200) {
    if (typeof parsed.access_token !== 'string' || typeof parsed.refresh_token !== 'string') {
      throw new RuntimeError('Oura\'s token endpoint answered without an access and refresh token; try again later.');
    }
    return {
      access_token: parsed.access_token,
      refresh_token: parsed.refresh_token,
      expires_in: typeof parsed.expires_in === 'number' ? parsed.expires_in : Number(parsed.expires_in ?? 0),
      token_type: parsed.token_type ?? 'bearer',
      ...(typeof parsed.scope === 'string' ? { scope: parsed.scope } : {}),
    };
  }
  const reason = parsed.error ? `${parsed.error}${parsed.error_description ? `: ${parsed.error_description}` : ''}` : `HTTP ${res.status}`;
  if (parsed.error === 'invalid_client' || (res.status === 401 && !parsed.error)) {
    throw new UsageError(
      `Oura rejected the application's client id or secret (${reason}); check OURA_CLIENT_ID and OURA_CLIENT_SECRET (or \`wearhook config set oura.clientId|oura.clientSecret\`).`,
    );
  }
  if (parsed.error === 'invalid_grant' || (res.status === 400 && !parsed.error)) {
    throw new OuraGrantRejectedError(`Oura's token endpoint refused the ${grant.grant_type === 'refresh_token' ? 'refresh token' : 'authorization code'} (${reason}).`, reason);
  }
  throw new RuntimeError(`Oura's token endpoint answered ${reason}; try again later.`);
}

/** When the access token stops working; without a usable `expires_in`, assume an hour and refresh early rather than late. */
export function expiresAt(tokens: TokenResponse, now: Date): string {
  const seconds = Number.isFinite(tokens.expires_in) && tokens.expires_in > 0 ? tokens.expires_in : 3600;
  return new Date(now.getTime() + seconds * 1000).toISOString();
}
