import { createHash } from 'node:crypto';
import { invalidParameters } from '../errors.js';
import { isObject, type Json } from '../json.js';
import type { Store } from '../store/index.js';
import type { Clock } from './types.js';

/** How long an answer is remembered (docs/api.md#idempotent-retries-request_id). */
export const REQUEST_TTL_MS = 24 * 3_600_000;
/** Expired answers are deleted with a write at most this often. */
const PURGE_EVERY_MS = 60_000;

/**
 * Deeper than any valid parameter (settings values are at most a list of scalars): a hostile body
 * nested thousands deep is refused before the recursion below could exhaust the stack.
 */
const MAX_DEPTH = 32;

/** JSON with object keys sorted: the same parameters give the same text whatever their order. */
function canonical(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw invalidParameters([{ parameter: 'tracking_settings', error: `must not be nested more than ${MAX_DEPTH} levels deep` }]);
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item, depth + 1)).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key], depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Idempotent retries: the answer of a call made with a `request_id`, kept per user for 24 hours in
 * SQLite (written in the same transaction as the call's versions, so it survives a restart exactly
 * when they do).
 */
export class RequestMemory {
  private lastPurge = 0;

  constructor(
    private readonly store: Store,
    private readonly now: Clock,
  ) {}

  /** What identifies a call's parameters: its name and every parameter that changes what it does. */
  digest(call: string, params: Json): Buffer {
    return createHash('sha256').update(canonical({ call, params })).digest();
  }

  /**
   * The answer remembered for this user's `requestId`, undefined when there is none (or it expired);
   * 7 naming `request_id` when it was made with other parameters.
   */
  recall(userId: number, requestId: string, digest: Buffer): Json | undefined {
    const row = this.store.requests.find(userId, requestId);
    if (!row || row.created_at <= this.now() - REQUEST_TTL_MS) return undefined;
    if (!row.params.equals(digest)) {
      throw invalidParameters([{ parameter: 'request_id', error: 'was used for a call with other parameters' }]);
    }
    return JSON.parse(row.answer) as Json;
  }

  /** Remembers an answer. Call inside the transaction of the call's writes. */
  remember(userId: number, requestId: string, digest: Buffer, answer: Json): void {
    const now = this.now();
    this.store.requests.save(userId, requestId, digest, JSON.stringify(answer), now);
    if (now - this.lastPurge < PURGE_EVERY_MS) return;
    this.lastPurge = now;
    this.store.requests.purge(now - REQUEST_TTL_MS);
  }
}
