import crypto from 'node:crypto';
import type http from 'node:http';

/**
 * Who may use the console. It binds 127.0.0.1 only, and every request must carry the random
 * token of this run as the first segment of its path (`/<token>/...`) and a Host header naming
 * this very port on a loopback name: any web page the user visits can make the browser send
 * requests to 127.0.0.1, and a DNS-rebinding page can even read the answers unless the Host is
 * checked. The token lives in the path rather than a cookie because cookies are shared by every
 * port of a host (the receiver would be sent it).
 */

/** 256 bits, URL-safe. */
export function newAccessToken(): string {
  return crypto.randomBytes(32).toString('base64url');
}

export function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.toLowerCase();
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Constant time over the token's length. */
export function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/**
 * The path inside the console (`deliveries/12`), or undefined when the request may not see it.
 * `/<token>` alone is the console's front page.
 */
export function consolePath(req: http.IncomingMessage, token: string, port: number): string | undefined {
  if (!hostAllowed(req.headers.host, port)) return undefined;
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return undefined;
  const pathname = target.split('?')[0]!;
  const slash = pathname.indexOf('/', 1);
  const given = slash === -1 ? pathname.slice(1) : pathname.slice(1, slash);
  if (!tokenMatches(given, token)) return undefined;
  return slash === -1 ? '' : pathname.slice(slash + 1);
}

/**
 * A state-changing request (replay) must come from a console page: a cross-site form cannot
 * send JSON without a preflight the console never answers, and a browser that sends Origin
 * must name this console.
 */
export function sameOriginJson(req: http.IncomingMessage, port: number): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
