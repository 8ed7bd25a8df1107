import type { ReceiverEvent, RejectedEvent } from '../receiver/server.js';

/**
 * What a `listen --ui` run knows that its database does not: how long each answer took, the
 * requests it refused (never stored), and the tunnel's health. The receiver feeds it; the
 * console reads it and is told when something changed (a forward or hook attempt too: those
 * are in the outbox, and the console shows them from there).
 */

export interface TunnelStatus {
  publicUrl: string;
  state: 'up' | 'down';
  /** When the current state began (ISO 8601, UTC). */
  since: string;
  reason?: string;
}

export type LiveChange = { kind: 'delivery'; id: number } | { kind: 'rejected' } | { kind: 'tunnel' };

/** Bounds: a console left open for days keeps a window, not everything. */
const KEEP_LATENCIES = 10_000;
const KEEP_REJECTED = 50;

export class LiveFeed {
  private readonly latencies = new Map<number, number>();
  private readonly refused: RejectedEvent[] = [];
  private tunnelStatus: TunnelStatus | undefined;
  private readonly listeners = new Set<(change: LiveChange) => void>();

  /** Where this run's receiver answers (the default target of a replay); set once it listens. */
  receiverUrl = '';

  receiverEvent(event: ReceiverEvent): void {
    switch (event.type) {
      case 'delivery':
        if (!event.duplicate) remember(this.latencies, event.id, event.latency_ms, KEEP_LATENCIES);
        this.emit({ kind: 'delivery', id: event.id });
        return;
      case 'work':
      case 'forward':
      case 'hook':
        this.emit({ kind: 'delivery', id: event.id });
        return;
      case 'rejected':
        this.refused.unshift(event);
        this.refused.length = Math.min(this.refused.length, KEEP_REJECTED);
        this.emit({ kind: 'rejected' });
        return;
      default:
        return;
    }
  }

  setTunnel(status: TunnelStatus): void {
    this.tunnelStatus = status;
    this.emit({ kind: 'tunnel' });
  }

  /** Milliseconds from the request's arrival to wearhook's answer, for deliveries this run received. */
  latency(id: number): number | undefined {
    return this.latencies.get(id);
  }

  rejected(): readonly RejectedEvent[] {
    return this.refused;
  }

  tunnel(): TunnelStatus | undefined {
    return this.tunnelStatus;
  }

  on(listener: (change: LiveChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: LiveChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

function remember<V>(map: Map<number, V>, key: number, value: V, keep: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > keep) map.delete(map.keys().next().value!);
}
