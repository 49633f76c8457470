import { RateLimiter, type RateLimit } from '../rate-limit.js';
import { LoginThrottle, type LoginGate } from './login-throttle.js';

export interface RateLimitOptions {
  /** Bursts up to this many (default `perSecond`). */
  readonly burst?: number;
  /** The clock of an in-process bucket (tests); a shared one counts with its store's clock. */
  readonly now?: () => number;
}

/**
 * Where the limits of docs/api.md#limits count: in this process, or in a store every node shares
 * (src/cluster/redis-limits.ts), chosen once by the composition root. `name` keeps the counts of
 * different limits apart.
 */
export interface LimitStore {
  rateLimit(name: string, perSecond: number, options?: RateLimitOptions): RateLimit;
  loginThrottle(maxFailures: number, windowMs: number): LoginGate;
}

/** One process, one count: the limits as they always were (synchronous, in memory). */
export function inProcessLimits(): LimitStore {
  return {
    rateLimit: (_name, perSecond, options = {}) => new RateLimiter(perSecond, options.now, options.burst === undefined ? {} : { burst: options.burst }),
    loginThrottle: (maxFailures, windowMs) => new LoginThrottle(maxFailures, windowMs),
  };
}
