/**
 * Failed logins per login within a sliding window (docs/api.md#userauth: 10 in 15 minutes → 105).
 * In memory on purpose: it protects this process's password checks and needs no durability.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private recent(key: string, now: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((at) => now - at < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }

  isBlocked(login: string, now: number): boolean {
    return this.recent(login.toLowerCase(), now).length >= this.maxFailures;
  }

  fail(login: string, now: number): void {
    const key = login.toLowerCase();
    const kept = this.recent(key, now);
    kept.push(now);
    this.failures.set(key, kept);
    // Bound memory under a spray of random logins: forget the oldest entries first.
    if (this.failures.size > 100_000) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  succeed(login: string): void {
    this.failures.delete(login.toLowerCase());
  }
}
