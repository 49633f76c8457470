import { DUMMY_PASSWORD_HASH, digest, newToken, verifyPassword } from '../auth/crypto.js';
import { ApiError } from '../errors.js';
import type { Store, UserRow } from '../store/index.js';
import { LoginThrottle } from './login-throttle.js';
import type { Clock, Principal } from './types.js';

export interface AuthOptions {
  readonly sessionIdleMs: number;
  readonly maxLoginFailures: number;
  readonly loginWindowMs: number;
  readonly clock?: Clock;
}

/** Refresh a session's last use at most this often: reads must not turn into writes. */
const TOUCH_EVERY_MS = 60_000;

/** Logins, sessions, API keys: turns a credential into a Principal. */
export class AuthService {
  private readonly throttle: LoginThrottle;
  private readonly now: Clock;

  constructor(
    private readonly store: Store,
    private readonly options: AuthOptions,
  ) {
    this.throttle = new LoginThrottle(options.maxLoginFailures, options.loginWindowMs);
    this.now = options.clock ?? Date.now;
  }

  /** A password check that costs the same whether or not the login exists (no user enumeration). */
  async checkPassword(login: string, password: string): Promise<UserRow | undefined> {
    const user = this.store.users.findByLogin(login);
    const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
    return ok ? user : undefined;
  }

  /** user/auth: a new session hash, or 102 / 105. */
  async login(login: string, password: string): Promise<string> {
    if (this.throttle.isBlocked(login, this.now())) throw new ApiError('loginAttemptsExceeded');
    const user = await this.checkPassword(login, password);
    if (!user) {
      this.throttle.fail(login, this.now());
      throw new ApiError('wrongLogin');
    }
    this.throttle.succeed(login);
    const hash = newToken();
    this.store.users.createSession(digest(hash), user.id, this.now());
    return hash;
  }

  logout(principal: Principal): void {
    if (principal.sessionDigest) this.store.users.endSession(principal.sessionDigest);
  }

  /** A well-formed hash → the session's or API key's user, else 4. */
  authenticate(hash: string): Principal {
    const key = digest(hash);
    const now = this.now();
    const session = this.store.users.findSession(key);
    if (session) {
      if (now - session.last_used_at > this.options.sessionIdleMs) {
        this.store.users.endSession(key);
        throw new ApiError('unknownCredential');
      }
      if (now - session.last_used_at > TOUCH_EVERY_MS) this.store.users.touch(key, now);
      return this.principal(session.user_id, key);
    }
    const owner = this.store.users.findApiKeyOwner(key);
    if (owner === undefined) throw new ApiError('unknownCredential');
    return this.principal(owner, null);
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
