import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { RateLimiter, type RateLimit } from '../rate-limit.js';
import type { LimitStore, RateLimitOptions } from '../settings/limits.js';
import type { LoginAttempt, LoginGate } from '../settings/login-throttle.js';

/**
 * The limits of docs/api.md#limits counted by every node at once, in Redis. Each check is one Lua
 * script, which Redis runs atomically: concurrent requests on several nodes cannot over-admit.
 * Times come from Redis (TIME), so the nodes' clocks need not agree.
 *
 * Redis unreachable (docs/reliability.md#8-redis-unreachable): rate limits admit (fail open, one log line per
 * outage), a login's password is not checked (fail closed: the caller answers as when too many
 * checks wait).
 */

/** Milliseconds on Redis' clock. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1] the bucket; ARGV capacity, tokens per second. Same arithmetic as src/rate-limit.ts. */
const TAKE_TOKEN = `${NOW}
local capacity = tonumber(ARGV[1]) local rate = tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) local at = tonumber(bucket[2])
if tokens == nil or at == nil then tokens = capacity at = now end
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
local ok = 0
if tokens >= 1 then tokens = tokens - 1 ok = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return ok`;

/**
 * KEYS failures, pending (sorted sets scored by time); ARGV maxFailures, windowMs, pendingMs, id.
 * An attempt counts from its admission (pending) until it fails (a failure) or not: as LoginThrottle.
 */
const BEGIN_LOGIN = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[2], now, ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

/** KEYS failures, pending; ARGV windowMs, id. */
const FAIL_LOGIN = `${NOW}
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/**
 * How long an admitted password check counts at most while unsettled: a node killed mid-check
 * leaves its reservation behind, and this frees it (a check itself takes milliseconds to seconds).
 */
const PENDING_MS = 60_000;

interface LimitCommands {
  takeToken(key: string, capacity: number, perSecond: number): Promise<number>;
  beginLogin(failures: string, pending: string, maxFailures: number, windowMs: number, pendingMs: number, id: string): Promise<number>;
  failLogin(failures: string, pending: string, windowMs: number, id: string): Promise<number>;
}

/** Keys name their subject by a digest: a credential never sits in Redis in the clear. */
function keyOf(...parts: string[]): string {
  const subject = parts.pop()!;
  return `trackconf:limit:${parts.join(':')}:${createHash('sha256').update(subject).digest('base64url')}`;
}

export class RedisLimits implements LimitStore {
  private down = false;

  private constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    redis.defineCommand('takeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
    redis.defineCommand('beginLogin', { numberOfKeys: 2, lua: BEGIN_LOGIN });
    redis.defineCommand('failLogin', { numberOfKeys: 2, lua: FAIL_LOGIN });
    redis.on('error', (err: Error) => this.unreachable(err));
    redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.log.info('Redis reachable again: limits are shared by every node');
    });
  }

  /** Connects, or throws when Redis cannot be reached at start. */
  static async connect(url: string, log: Logger): Promise<RedisLimits> {
    const redis = new Redis(url, {
      lazyConnect: true,
      // A limit answers now or never: no queue while disconnected, no retry of a sent command.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 2_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    const limits = new RedisLimits(redis, log);
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return limits;
  }

  private get commands(): LimitCommands {
    return this.redis as unknown as LimitCommands;
  }

  /** One line per outage, not one per request. */
  private unreachable(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.log.error({ err }, 'Redis unreachable: rate limits are not enforced, password checks are refused (docs/reliability.md#8-redis-unreachable)');
  }

  rateLimit(name: string, perSecond: number, options: RateLimitOptions = {}): RateLimit {
    if (perSecond <= 0) return new RateLimiter(0); // off: answers at once, as on one node
    const capacity = Math.max(1, options.burst ?? perSecond);
    return {
      enabled: true,
      take: (key) =>
        this.commands.takeToken(keyOf('rate', name, String(key)), capacity, perSecond).then(
          (ok) => ok === 1,
          (err: unknown) => {
            this.unreachable(err);
            return true;
          },
        ),
    };
  }

  loginThrottle(maxFailures: number, windowMs: number): LoginGate {
    return {
      begin: async (login) => {
        const subject = login.toLowerCase();
        const failures = keyOf('login', 'failures', subject);
        const pending = keyOf('login', 'pending', subject);
        const id = randomUUID();
        try {
          if ((await this.commands.beginLogin(failures, pending, maxFailures, windowMs, PENDING_MS, id)) !== 1) return undefined;
        } catch (err) {
          this.unreachable(err);
          throw err;
        }
        return this.attempt(failures, pending, windowMs, id);
      },
    };
  }

  /** Settled once; a settlement lost to an outage leaves the reservation to expire (PENDING_MS). */
  private attempt(failures: string, pending: string, windowMs: number, id: string): LoginAttempt {
    let settled = false;
    const settle = (write: () => Promise<unknown>): void => {
      if (settled) return;
      settled = true;
      write().catch((err: unknown) => this.unreachable(err));
    };
    return {
      fail: () => settle(() => this.commands.failLogin(failures, pending, windowMs, id)),
      // The right password forgets the failures so far; checks still in flight count when they fail.
      succeed: () => settle(() => this.redis.multi().zrem(pending, id).del(failures).exec()),
      cancel: () => settle(() => this.redis.zrem(pending, id)),
    };
  }

  close(): Promise<void> {
    return this.redis.quit().then(
      () => undefined,
      () => this.redis.disconnect(),
    );
  }
}
