import net from 'node:net';
import type { HttpClient } from '../net/http-client.js';
import { RuntimeError, errorMessage } from '../errors.js';
import { LossSignal, dialHost, trimUrl, type LocalTarget, type TunnelProvider, type TunnelSession } from './tunnel.js';

/**
 * The localtunnel protocol (https://github.com/localtunnel/server): `GET <server>/?new` (or
 * `/<id>` to ask for a name again) answers `{id, port, max_conn_count, url}`; the client then
 * keeps up to max_conn_count raw TCP sockets open to that port, and the server writes each
 * public request into one of them. We speak it ourselves rather than through the npm client,
 * because that client retries its first request forever with no way to stop it, goes around
 * our one HTTP client, and rewrites request bytes as strings when the local host is set.
 */

interface TunnelInfo {
  id: string;
  port: number;
  maxConnections: number;
  url: string;
}

/** How long a socket that never carried a request waits before it is replaced (no busy loop). */
const IDLE_REOPEN_DELAY_MS = 1000;
const INFO_TIMEOUT_MS = 15_000;

export class LocaltunnelProvider implements TunnelProvider {
  readonly reconnectable = true;
  private lastId: string | undefined;

  constructor(
    private readonly serverUrl: string,
    private readonly http: HttpClient,
  ) {}

  get description(): string {
    return `localtunnel (${this.serverUrl})`;
  }

  async open(target: LocalTarget): Promise<TunnelSession> {
    const info = await this.requestTunnel();
    this.lastId = info.id;
    const session = new LocaltunnelSession(info, new URL(this.serverUrl).hostname, target);
    session.start();
    return session;
  }

  /** Ask for the previous name first, so that a reconnect keeps the URL when the server allows it. */
  private async requestTunnel(): Promise<TunnelInfo> {
    const base = trimUrl(this.serverUrl);
    const url = this.lastId ? `${base}/${encodeURIComponent(this.lastId)}` : `${base}/?new`;
    const res = await this.http.request({ method: 'GET', url, retry: 'never', timeoutMs: INFO_TIMEOUT_MS });
    let body: Record<string, unknown> | undefined;
    try {
      body = res.json<Record<string, unknown>>();
    } catch {
      body = undefined;
    }
    if (res.status !== 200 || !body) {
      const message = typeof body?.message === 'string' ? `: ${body.message}` : '';
      throw new RuntimeError(`The localtunnel server ${this.serverUrl} answered ${res.status}${message}.`);
    }
    const { id, port, url: publicUrl, max_conn_count: maxConn } = body;
    if (typeof id !== 'string' || !Number.isInteger(port) || typeof publicUrl !== 'string') {
      throw new RuntimeError(`The localtunnel server ${this.serverUrl} gave an answer without id, port and url; is it a localtunnel server?`);
    }
    return {
      id,
      port: port as number,
      url: trimUrl(publicUrl),
      maxConnections: Number.isInteger(maxConn) && (maxConn as number) > 0 ? (maxConn as number) : 1,
    };
  }
}

class LocaltunnelSession implements TunnelSession {
  private closed = false;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly loss = new LossSignal();
  private readonly dial: LocalTarget;

  constructor(
    private readonly info: TunnelInfo,
    private readonly remoteHost: string,
    target: LocalTarget,
  ) {
    this.dial = { host: dialHost(target.host), port: target.port };
  }

  get publicUrl(): string {
    return this.info.url;
  }

  onLost(listener: (reason: string) => void): void {
    this.loss.on(listener);
  }

  start(): void {
    for (let i = 0; i < this.info.maxConnections; i++) this.openRemote();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  /**
   * One pooled connection to the server. The local connection is made when the first request
   * bytes arrive, then both sides are piped untouched; when either side ends, both are
   * dropped and a fresh pooled connection replaces them.
   */
  private openRemote(): void {
    if (this.closed) return;
    const remote = net.connect({ host: this.remoteHost, port: this.info.port });
    remote.setKeepAlive(true);
    this.sockets.add(remote);
    let connected = false;
    let carried = false;
    let local: net.Socket | undefined;

    remote.once('connect', () => {
      connected = true;
    });
    remote.once('data', (first: Buffer) => {
      carried = true;
      remote.pause();
      local = net.connect(this.dial);
      local.once('connect', () => {
        local!.write(first);
        remote.pipe(local!);
        local!.pipe(remote);
      });
      local.on('error', () => remote.destroy());
      local.once('close', () => remote.destroy());
    });
    remote.on('error', (err: NodeJS.ErrnoException) => {
      // A server that refuses or never answers is gone: only a new tunnel can help.
      if (!connected) this.loss.fire(`${this.remoteHost}:${this.info.port} ${err.code === 'ECONNREFUSED' ? 'refused the connection' : errorMessage(err)}`);
    });
    remote.once('close', () => {
      this.sockets.delete(remote);
      local?.destroy();
      if (this.closed || !connected) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.openRemote();
      }, carried ? 0 : IDLE_REOPEN_DELAY_MS);
      this.timers.add(timer);
    });
  }
}
