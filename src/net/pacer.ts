/**
 * A pace for a client of its own: at most `perSecond` requests a second on average, with bursts
 * of up to `burst` (the generic cell rate algorithm: each request reserves the next slot, so
 * callers waiting at once go out in order, evenly spaced). Given to an HttpClient as `pacer`,
 * it keeps background work (reconciliation) well under a provider's rate limit instead of
 * running into it and living on 429s.
 */
export class Pacer {
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  /** When the next request would be due at the steady rate. */
  private theoreticalArrival = 0;

  constructor(
    perSecond: number,
    burst = 1,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    if (!(perSecond > 0)) throw new Error('a pace needs a positive rate');
    this.intervalMs = 1000 / perSecond;
    this.toleranceMs = Math.max(0, Math.floor(burst) - 1) * this.intervalMs;
  }

  /** Resolves when the next request may go. */
  take(): Promise<void> {
    const now = this.now();
    const arrival = Math.max(this.theoreticalArrival, now);
    const waitMs = arrival - now - this.toleranceMs;
    this.theoreticalArrival = arrival + this.intervalMs;
    return waitMs > 0 ? this.sleep(Math.ceil(waitMs)) : Promise.resolve();
  }
}

/** Oura allows 5000 requests per 5 minutes per application (PROVIDERS.md): about 16.7 a second. */
export const OURA_REQUESTS_PER_S = 5000 / 300;
