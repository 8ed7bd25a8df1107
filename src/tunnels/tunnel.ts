/**
 * A tunnel gives the local receiver a public URL. Providers only open and close; whether the
 * URL really reaches this run is decided end to end by the supervisor (supervisor.ts).
 */

export const TUNNEL_KINDS = ['none', 'localtunnel', 'ngrok', 'cloudflared'] as const;
export type TunnelKind = (typeof TUNNEL_KINDS)[number];

/** Where the tunnel delivers: the receiver's own socket. */
export interface LocalTarget {
  host: string;
  port: number;
}

export interface TunnelSession {
  /** Base URL on the internet, no trailing slash. */
  readonly publicUrl: string;
  /** Called at most once when the provider itself notices the tunnel is gone (a dead child, a refused socket). */
  onLost(listener: (reason: string) => void): void;
  /** Tear the tunnel down; safe to call twice. */
  close(): Promise<void>;
}

export interface TunnelProvider {
  /** For messages: "localtunnel (https://localtunnel.me)". */
  readonly description: string;
  /** Whether reopening can help when the URL stops answering (false for a URL the user runs). */
  readonly reconnectable: boolean;
  /** A provider may remember its last session to ask for the same URL again. */
  open(target: LocalTarget): Promise<TunnelSession>;
}

/** Drop a trailing slash so that `${url}/oura` is always well formed. */
export function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * The address a tunnel should dial to reach a receiver bound to `host`: a wildcard bind is
 * reachable on loopback, anything else as given.
 */
export function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Calls the listener once, however many times the session reports itself lost,
 * and remembers a loss that happened before anyone listened.
 */
export class LossSignal {
  private listener: ((reason: string) => void) | undefined;
  private reason: string | undefined;

  on(listener: (reason: string) => void): void {
    this.listener = listener;
    if (this.reason !== undefined) listener(this.reason);
  }

  fire(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.listener?.(reason);
  }
}
