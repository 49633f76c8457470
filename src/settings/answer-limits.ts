import type { Clock } from './types.js';

/** What one device may send and keep (docs/mqtt.md#limits-on-what-a-tracker-sends). */
export interface AnswerLimits {
  /** Acks and reports per second per device, together; 0 = no limit. */
  readonly perSecond: number;
  /** How many may come at once before the per-second rate applies. */
  readonly burst: number;
  /** Ack rows kept per device (the newest); older ones are deleted as new ones come. */
  readonly acksKept: number;
  /** Deepest nesting of `[` and `{` a payload may have; refused before it is parsed. */
  readonly maxDepth: number;
}

export const NO_ANSWER_LIMITS: AnswerLimits = Object.freeze({ perSecond: 0, burst: 0, acksKept: 0, maxDepth: 64 });

/** How long a device's bucket is kept after its last answer (a full bucket again by then). */
const IDLE_MS = 60_000;

/**
 * A token bucket per device: `burst` answers at once, then `perSecond`. A hostile tracker's excess
 * is dropped before it is parsed or written. Buckets idle for a minute are forgotten.
 */
export class AnswerBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private lastSweep = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: Clock,
  ) {}

  /** Takes one answer from `device`'s budget; false when it is spent. */
  take(device: string): boolean {
    if (this.perSecond <= 0) return true;
    const now = this.now();
    this.sweep(now);
    const capacity = Math.max(1, this.burst);
    const bucket = this.buckets.get(device);
    if (!bucket) {
      this.buckets.set(device, { tokens: capacity - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < IDLE_MS) return;
    this.lastSweep = now;
    for (const [device, bucket] of this.buckets) if (now - bucket.at > IDLE_MS) this.buckets.delete(device);
  }
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the JSON text in `payload` nests `[`/`{` at most `maxDepth` deep, read from the bytes
 * (strings skipped): a deeply nested payload is refused before any parser or recursive walk sees it.
 */
export function nestingWithin(payload: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i]!;
    if (inString) {
      if (byte === BACKSLASH) i++;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) inString = true;
    else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
      if (++depth > maxDepth) return false;
    } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) depth--;
  }
  return true;
}
