/** One password check admitted by the throttle: settle it exactly once with its outcome. */
export interface LoginAttempt {
  fail(now: number): void;
  succeed(): void;
  /** The password was never checked (no capacity): the attempt does not count. */
  cancel(): void;
}

/**
 * Admits password checks for a login (docs/api.md#limits): this process's LoginThrottle, or one
 * shared by every node (src/cluster/redis-limits.ts), which answers later and may reject when its
 * store is unreachable.
 */
export interface LoginGate {
  begin(login: string, now: number): LoginAttempt | undefined | Promise<LoginAttempt | undefined>;
}

interface LoginRecord {
  /** When each recent failure happened (oldest first). */
  failures: number[];
  /** Attempts admitted whose password check has not finished yet. */
  inFlight: number;
}

/**
 * Failed logins per login within a sliding window (docs/api.md#userauth: 10 in 15 minutes → 105).
 * An attempt counts from the moment it is admitted, before its password is checked: a burst of
 * concurrent guesses gets at most `maxFailures` checks per window, the rest are refused at once,
 * the right password included. In this process's memory unless the service runs on several nodes
 * (src/settings/limits.ts).
 */
export class LoginThrottle implements LoginGate {
  private readonly records = new Map<string, LoginRecord>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    /** Logins remembered at most (a spray of random logins): the oldest idle ones are forgotten. */
    private readonly maxLogins = 100_000,
  ) {}

  private record(key: string, now: number): LoginRecord | undefined {
    const record = this.records.get(key);
    if (!record) return undefined;
    record.failures = record.failures.filter((at) => now - at < this.windowMs);
    if (record.failures.length === 0 && record.inFlight === 0) {
      this.records.delete(key);
      return undefined;
    }
    return record;
  }

  /** Admits one password check for `login`, or undefined when its window is full (answer 105). */
  begin(login: string, now: number): LoginAttempt | undefined {
    const key = login.toLowerCase();
    const record = this.record(key, now) ?? { failures: [], inFlight: 0 };
    if (record.failures.length + record.inFlight >= this.maxFailures) return undefined;
    record.inFlight++;
    this.records.delete(key); // re-inserted last: the Map's order is least recently used first
    this.records.set(key, record);
    this.forgetOldest();
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      record.inFlight--;
      return true;
    };
    return {
      fail: (at) => {
        if (!settle()) return;
        record.failures.push(at);
        if (!this.records.has(key)) this.records.set(key, record);
      },
      // The right password forgets the failures recorded so far; checks still in flight count when they fail.
      succeed: () => {
        if (!settle()) return;
        record.failures = [];
        if (record.inFlight === 0 && this.records.get(key) === record) this.records.delete(key);
      },
      cancel: () => void settle(),
    };
  }

  isBlocked(login: string, now: number): boolean {
    const record = this.record(login.toLowerCase(), now);
    return record !== undefined && record.failures.length + record.inFlight >= this.maxFailures;
  }

  /** Bounds memory under a spray of random logins; a login with checks in flight is kept. */
  private forgetOldest(): void {
    if (this.records.size <= this.maxLogins) return;
    for (const [key, record] of this.records) {
      if (record.inFlight > 0) continue;
      this.records.delete(key);
      return;
    }
  }
}
