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
