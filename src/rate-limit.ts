/**
 * Token buckets per key: `perSecond` tokens each second, bursts up to `burst` (default `perSecond`).
 * Buckets idle for `idleMs` are forgotten (they would be full again), so a spray of keys cannot grow
 * memory without bound. Used for HTTP requests, MQTT connects and tracker answers alike.
 */
/**
 * One limit as its users see it: `take` answers at once in this process, or later when the count
 * is shared by every node (src/cluster/redis-limits.ts). A disabled limit always answers at once.
 */
export interface RateLimit {
  readonly enabled: boolean;
  take(key: string): boolean | Promise<boolean>;
}

export class RateLimiter implements RateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly capacity: number;
  private readonly idleMs: number;
  private lastSweep = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
    options: { readonly burst?: number; readonly idleMs?: number } = {},
  ) {
    this.capacity = Math.max(1, options.burst ?? perSecond);
    this.idleMs = options.idleMs ?? 10_000;
  }

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes one token for `key`; false when the bucket is empty. */
  take(key: string): boolean {
    if (!this.enabled) return true;
    const now = this.now();
    this.sweep(now);
    const bucket = this.buckets.get(key);
    if (!bucket) {
      this.buckets.set(key, { tokens: this.capacity - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.idleMs) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.at > this.idleMs) this.buckets.delete(key);
  }
}
