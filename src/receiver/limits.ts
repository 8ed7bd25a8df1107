import fs from 'node:fs';
import type http from 'node:http';
import type { Socket } from 'node:net';

/**
 * What any client may cost the receiver, whatever it does: slow or stalled headers and bodies,
 * idle connections by the thousand, large bodies from many sockets at once. Real senders
 * (Oura, Svix) send a delivery of a few kilobytes in one go and wait at most 10-15 s for the
 * answer, so none of these limits ever touches them.
 */
export interface ReceiverLimits {
  /** The request line and headers must arrive within this (default 10 s). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (default 30 s). */
  requestTimeoutMs: number;
  /** A connection silent this long, in the middle of a request or before its first one, is closed (default 10 s). */
  idleTimeoutMs: number;
  /** A kept-alive connection waits this long for its next request (default 5 s). */
  keepAliveTimeoutMs: number;
  /** Connections at once; past it the oldest one without a request in progress makes room, or the new one is refused. */
  maxConnections: number;
  /** Bytes of request bodies held at once by all requests together; past it a delivery is answered 503 (default 64 MiB). */
  bodyBudgetBytes: number;
}

export const DEFAULT_LIMITS: Omit<ReceiverLimits, 'maxConnections'> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  bodyBudgetBytes: 64 * 1024 * 1024,
};

/** File descriptors kept for what is not a client: the database and its WAL, outgoing requests, a tunnel. */
const RESERVED_DESCRIPTORS = 64;

/**
 * 1024 connections, or fewer when the process may open fewer files: a receiver that runs out of
 * descriptors cannot accept real senders, open its database files or fetch from Oura.
 */
export function defaultMaxConnections(): number {
  const soft = openFileLimit();
  return soft === undefined ? 1024 : Math.max(16, Math.min(1024, soft - RESERVED_DESCRIPTORS));
}

/** The soft limit on open files (Linux, from /proc), if it can be known. */
function openFileLimit(): number | undefined {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.trim().split(/\s+/)[3];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

export function resolveLimits(given: Partial<ReceiverLimits> = {}): ReceiverLimits {
  return { ...DEFAULT_LIMITS, maxConnections: defaultMaxConnections(), ...given };
}

/** Node's own timeouts: headers, the whole request, idle sockets, keep-alive, checked every second. */
export function applyTimeouts(server: http.Server, limits: ReceiverLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs);
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Without a 'timeout' listener Node destroys a socket that stays silent this long.
  server.timeout = limits.idleTimeoutMs;
}

/**
 * The connection cap. A connection with a request in progress is never cut for a new one; one
 * without is, so that idle or slow clients cannot lock real senders out: first one that was
 * never answered (connected and silent, or still sending its headers), oldest first, then the
 * one answered longest ago. A sender that keeps its connection alive between deliveries was
 * answered moments ago, and cutting it could catch its next request in flight (the server sees
 * a request only once its headers are in).
 */
export class ConnectionCap {
  /** Open connections, oldest first: requests in progress, and when the last answer was finished (null: never). */
  private readonly open = new Map<Socket, { busy: number; answeredAt: number | null }>();

  constructor(
    server: http.Server,
    private readonly max: number,
  ) {
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const state = this.open.get(req.socket);
      if (!state) return;
      state.busy++;
      res.once('close', () => {
        state.busy--;
        state.answeredAt = Date.now();
      });
    });
  }

  get size(): number {
    return this.open.size;
  }

  private admit(socket: Socket): void {
    if (this.open.size >= this.max) {
      const idle = this.idlest();
      if (!idle) {
        socket.destroy();
        return;
      }
      idle.destroy();
      this.open.delete(idle);
    }
    this.open.set(socket, { busy: 0, answeredAt: null });
    socket.once('close', () => this.open.delete(socket));
  }

  /** The connection to cut for a new one (see the class), or none when every one has a request in progress. */
  private idlest(): Socket | undefined {
    let answeredLongestAgo: Socket | undefined;
    let at = Infinity;
    for (const [socket, state] of this.open) {
      if (state.busy > 0) continue;
      if (state.answeredAt === null) return socket;
      if (state.answeredAt < at) {
        answeredLongestAgo = socket;
        at = state.answeredAt;
      }
    }
    return answeredLongestAgo;
  }
}

/** Bytes of request bodies held at once, across all requests. */
export class BodyBudget {
  private used = 0;

  constructor(readonly max: number) {}

  /** Take `bytes` if they fit; the caller gives them back with `release` once the body is no longer held. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
