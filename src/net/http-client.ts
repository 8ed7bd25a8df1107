import { request, errors as undiciErrors, type Dispatcher } from 'undici';
import { RuntimeError, errorMessage } from '../errors.js';

/**
 * The one HTTP client every outgoing call goes through: a timeout on every request,
 * retries with full-jitter exponential backoff on network errors and 5xx, and 429
 * answered by waiting what the server asks (`Retry-After`, else `X-RateLimit-Reset`).
 */

export type RetryPolicy =
  /** GET, PUT, DELETE: safe to send again on network errors, 5xx and 429. */
  | 'idempotent'
  /** A POST whose repetition could do harm (e.g. spending a single-use refresh token):
   *  only retried when the server cannot have seen it (connection refused) or said 429. */
  | 'unsafe'
  | 'never';

export interface HttpRequest {
  method: Dispatcher.HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Ends the request, and any wait before a retry, when aborted (a stopping receiver). */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  url: string;
  /** How many attempts it took. */
  attempts: number;
  text(): string;
  json<T = unknown>(): T;
}

export interface HttpClientOptions {
  timeoutMs?: number;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longest wait a 429 may ask for before we give up rather than hang. */
  maxRetryAfterMs?: number;
  userAgent?: string;
  /** Called before each wait; the CLI logs it. */
  onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
  /** Waited on before every attempt: keeps a client under a rate of its own (see pacer.ts). */
  pacer?: { take(): Promise<void> };
  /** Injected in tests to observe waits without waiting. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export class NetworkError extends RuntimeError {}

/** The caller aborted the request (its `signal`); never retried. */
export class RequestAbortedError extends RuntimeError {}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export class HttpClient {
  private readonly opts: Required<Omit<HttpClientOptions, 'onRetry' | 'pacer'>> & Pick<HttpClientOptions, 'onRetry' | 'pacer'>;

  constructor(options: HttpClientOptions = {}) {
    this.opts = {
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 4,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 5 * 60_000,
      userAgent: options.userAgent ?? 'wearhook',
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      onRetry: options.onRetry,
      pacer: options.pacer,
    };
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const policy = req.retry ?? (req.method === 'POST' || req.method === 'PATCH' ? 'unsafe' : 'idempotent');
    const url = String(req.url);
    for (let attempt = 1; ; attempt++) {
      this.throwIfAborted(req, url);
      const canRetry = policy !== 'never' && attempt <= this.opts.maxRetries;
      let response: HttpResponse;
      if (this.opts.pacer) await this.opts.pacer.take();
      try {
        response = await this.once(req, url, attempt);
      } catch (err) {
        this.throwIfAborted(req, url);
        const code = errorCode(err);
        const retryable = policy === 'idempotent' || (policy === 'unsafe' && CONNECT_ERRORS.has(code));
        if (canRetry && retryable) {
          await this.wait(req, url, attempt, this.backoff(attempt), describeNetworkError(err));
          continue;
        }
        throw new NetworkError(`Request to ${new URL(url).origin} failed: ${describeNetworkError(err)}.`, { cause: err });
      }
      if (response.status === 429 && canRetry) {
        const delay = retryAfterMs(response.headers, Date.now()) ?? this.backoff(attempt);
        if (delay <= this.opts.maxRetryAfterMs) {
          await this.wait(req, url, attempt, delay, 'rate limited (429)');
          continue;
        }
      }
      if (response.status >= 500 && canRetry && policy === 'idempotent') {
        await this.wait(req, url, attempt, this.backoff(attempt), `server error ${response.status}`);
        continue;
      }
      return response;
    }
  }

  private async once(req: HttpRequest, url: string, attempt: number): Promise<HttpResponse> {
    const timeout = req.timeoutMs ?? this.opts.timeoutMs;
    const { target, authorization } = withoutUserinfo(url);
    const res = await request(target, {
      method: req.method,
      headers: { 'user-agent': this.opts.userAgent, ...authorization, ...req.headers },
      body: req.body,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: req.signal ? AbortSignal.any([req.signal, AbortSignal.timeout(timeout)]) : AbortSignal.timeout(timeout),
    });
    const body = Buffer.from(await res.body.arrayBuffer());
    return {
      status: res.statusCode,
      headers: res.headers,
      body,
      url,
      attempts: attempt,
      text: () => body.toString('utf8'),
      json: <T>() => JSON.parse(body.toString('utf8')) as T,
    };
  }

  /** Full jitter: a random wait in [0, min(max, base * 2^(attempt-1))]. */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(this.opts.random() * ceiling);
  }

  private async wait(req: HttpRequest, url: string, attempt: number, delayMs: number, reason: string): Promise<void> {
    this.opts.onRetry?.({ url, attempt, delayMs, reason });
    const signal = req.signal;
    if (!signal) return this.opts.sleep(delayMs);
    let onAbort = () => {};
    await Promise.race([this.opts.sleep(delayMs), new Promise<void>((resolve) => signal.addEventListener('abort', (onAbort = () => resolve()), { once: true }))]);
    signal.removeEventListener('abort', onAbort);
    this.throwIfAborted(req, url);
  }

  private throwIfAborted(req: HttpRequest, url: string): void {
    if (req.signal?.aborted) throw new RequestAbortedError(`Request to ${new URL(url).origin} aborted.`);
  }
}

/**
 * Credentials in a URL (`http://user:pass@host/`, as in `--forward-to`) become HTTP Basic
 * authentication, as curl does; undici would silently drop them.
 */
function withoutUserinfo(url: string): { target: string; authorization: Record<string, string> } {
  const parsed = new URL(url);
  if (!parsed.username && !parsed.password) return { target: url, authorization: {} };
  const credentials = `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`;
  parsed.username = '';
  parsed.password = '';
  return { target: parsed.toString(), authorization: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` } };
}

/** `Retry-After` in seconds or as an HTTP date; else `X-RateLimit-Reset` in unix seconds. */
export function retryAfterMs(headers: HttpResponse['headers'], now: number): number | undefined {
  const retryAfter = first(headers['retry-after']);
  if (retryAfter !== undefined) {
    if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Math.ceil(Number(retryAfter) * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = first(headers['x-ratelimit-reset']);
  if (reset !== undefined && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset) * 1000 - now);
  return undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorCode(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code ?? '';
}

function describeNetworkError(err: unknown): string {
  if (err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) return 'timed out';
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return code ? `${code} (${errorMessage(err)})` : errorMessage(err);
}
