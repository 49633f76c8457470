import type { Logger } from '../logger.js';

/**
 * One log line per device and kind per interval for what trackers send that is dropped (malformed,
 * over the answer budget): the first one at once, then the next one after the interval, with how
 * many were not logged in between (docs/mqtt.md#limits-on-what-a-tracker-sends).
 */
export class ThrottledAnswerLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private lastSweep = 0;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  dropped(device: string, topic: string, outcome: 'malformed' | 'limited'): void {
    const now = this.now();
    this.sweep(now);
    const key = `${outcome}\u0000${device}`;
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    const message = outcome === 'malformed' ? 'malformed payload dropped' : 'tracker over its answer budget: dropped';
    this.log.warn({ device, topic, suppressed }, message);
  }

  /** Entries past their interval hold nothing worth keeping but a count no one will see: forget them. */
  private sweep(now: number): void {
    if (now - this.lastSweep < this.intervalMs) return;
    this.lastSweep = now;
    for (const [key, entry] of this.last) if (now - entry.at >= this.intervalMs && entry.suppressed === 0) this.last.delete(key);
  }
}
