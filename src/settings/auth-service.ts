import { BoundedConcurrency } from '../auth/bounded-concurrency.js';
import type { DeriveKey } from '../auth/scrypt-threads.js';
import { DUMMY_PASSWORD_HASH, digest, newToken, verifyPassword } from '../auth/crypto.js';
import { ApiError } from '../errors.js';
import type { Store, UserRow } from '../store/index.js';
import { EpochCache } from '../store/freshness.js';
import type { LoginAttempt, LoginGate } from './login-throttle.js';
import { inProcessLimits, type LimitStore } from './limits.js';
import { userInfoView } from './views.js';
import type { Clock, Principal } from './types.js';

export interface AuthOptions {
  readonly sessionIdleMs: number;
  readonly maxLoginFailures: number;
  readonly loginWindowMs: number;
  /** Password checks running at once, and waiting for a slot (docs/api.md#limits). */
  readonly passwordChecks?: number;
  readonly passwordCheckQueue?: number;
  /** Where scrypt runs; libuv's thread pool unless given. */
  readonly deriveKey?: DeriveKey;
  readonly clock?: Clock;
  /** Where failed logins count: this process unless given (several nodes: src/settings/limits.ts). */
  readonly limits?: LimitStore;
}

/** Refresh a session's last use at most this often: reads must not turn into writes. */
const TOUCH_EVERY_MS = 60_000;

/** Logins, sessions, API keys: turns a credential into a Principal. */
export class AuthService {
  /** Refused password checks (HTTP user/auth and MQTT observers), read by the metrics at scrape time. */
  readonly counters = { loginFailures: 0, loginThrottled: 0 };
  private readonly throttle: LoginGate;
  private readonly passwordChecks: BoundedConcurrency;
  private readonly credentials = new EpochCache<string, { principal: Principal; lastUsedAt: number }>(50_000);
  private readonly now: Clock;

  constructor(
    private readonly store: Store,
    private readonly options: AuthOptions,
  ) {
    this.throttle = (options.limits ?? inProcessLimits()).loginThrottle(options.maxLoginFailures, options.loginWindowMs);
    this.passwordChecks = new BoundedConcurrency(options.passwordChecks ?? 2, options.passwordCheckQueue ?? 64);
    this.now = options.clock ?? Date.now;
  }

  /**
   * A password check that costs the same whether or not the login exists (no user enumeration),
   * counted against the login's failure window whichever protocol asks (HTTP user/auth, MQTT) from
   * the moment it is admitted: concurrent guesses cannot overtake the count. 'busy' when too many
   * checks are running and waiting already, or the count shared by several nodes cannot be reached
   * (nothing was checked, nothing counted).
   */
  async checkPassword(login: string, password: string): Promise<UserRow | 'throttled' | 'busy' | undefined> {
    const user = this.store.users.findByLogin(login);
    const begun = this.throttle.begin(login, this.now());
    let attempt: LoginAttempt | undefined;
    if (begun instanceof Promise) {
      // Shared by every node: when that count cannot be reached, no password is checked (docs/reliability.md#8-redis-unreachable).
      try {
        attempt = await begun;
      } catch {
        return 'busy';
      }
    } else attempt = begun;
    if (!attempt) {
      this.counters.loginThrottled++;
      return 'throttled';
    }
    const check = this.passwordChecks.run(() => verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH, this.options.deriveKey));
    if (!check) {
      attempt.cancel();
      return 'busy';
    }
    let ok: boolean;
    try {
      ok = await check;
    } catch (err) {
      attempt.cancel();
      throw err;
    }
    if (!ok || !user) {
      this.counters.loginFailures++;
      attempt.fail(this.now());
      return undefined;
    }
    attempt.succeed();
    return user;
  }

  /** user/auth: a new session hash, or 102 / 105; 15 when too many password checks wait already. */
  async login(login: string, password: string): Promise<string> {
    const user = await this.checkPassword(login, password);
    if (user === 'throttled') throw new ApiError('loginAttemptsExceeded');
    if (user === 'busy') throw new ApiError('tooManyRequests');
    if (!user) throw new ApiError('wrongLogin');
    const hash = newToken();
    this.store.users.createSession(digest(hash), user.id, this.now());
    return hash;
  }

  logout(principal: Principal): void {
    if (principal.sessionDigest) this.store.users.endSession(principal.sessionDigest);
  }

  /** user/session/renew: the session's idle time starts again now; an API key has nothing to renew. */
  renew(principal: Principal): void {
    if (principal.sessionDigest) this.store.users.touch(principal.sessionDigest, this.now());
  }

  /** user/get_info: Navixy's `user_info` of the caller (a sub-user: its own). */
  userInfo(principal: Principal) {
    const createdAt = this.store.users.createdAt(principal.userId);
    if (createdAt === undefined) throw new ApiError('unknownCredential');
    return userInfoView({ id: principal.userId, login: principal.login }, createdAt);
  }

  /**
   * A well-formed hash → the session's or API key's user, else 4.
   *
   * Credentials that authenticated are remembered (hash → Principal) while the store's freshness
   * epoch lasts: a logout or an expiry here, an import or any write outside the repositories ends
   * it at the next call, so nothing is served from memory that the database no longer says. A
   * session is re-read when its last use is due to be refreshed; a failure is never remembered.
   */
  authenticate(hash: string): Principal {
    const now = this.now();
    const epoch = this.store.freshness.current();
    const known = this.credentials.get(hash, epoch);
    if (known && now - known.lastUsedAt <= TOUCH_EVERY_MS) return known.principal;
    const key = digest(hash);
    const session = this.store.users.findSession(key);
    if (session) {
      if (now - session.last_used_at > this.options.sessionIdleMs) {
        this.credentials.delete(hash);
        this.store.users.endSession(key);
        throw new ApiError('unknownCredential');
      }
      let lastUsedAt = session.last_used_at;
      if (now - lastUsedAt > TOUCH_EVERY_MS) {
        this.store.users.touch(key, now);
        lastUsedAt = now;
      }
      return this.remember(hash, epoch, this.principal(session.user_id, key), lastUsedAt);
    }
    const owner = this.store.users.findApiKeyOwner(key);
    if (owner === undefined) throw new ApiError('unknownCredential');
    return this.remember(hash, epoch, this.principal(owner, null), Number.POSITIVE_INFINITY);
  }

  private remember(hash: string, epoch: number, principal: Principal, lastUsedAt: number): Principal {
    if (!this.store.db.inTransaction) {
      // API keys never need a refresh: remember them as used "now" forever (only the epoch ends them).
      this.credentials.set(hash, epoch, { principal, lastUsedAt: Number.isFinite(lastUsedAt) ? lastUsedAt : Number.MAX_SAFE_INTEGER });
    }
    return principal;
  }

  private principal(userId: number, sessionDigest: Buffer | null): Principal {
    const user = this.store.users.findById(userId);
    if (!user) throw new ApiError('unknownCredential');
    return principalOf(user, sessionDigest);
  }
}

export function principalOf(user: UserRow, sessionDigest: Buffer | null): Principal {
  return {
    userId: user.id,
    login: user.login,
    masterId: user.master_id,
    rights: new Set(JSON.parse(user.rights) as string[]),
    sessionDigest,
  };
}
