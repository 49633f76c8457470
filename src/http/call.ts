import type { FastifyBaseLogger } from 'fastify';
import { TOKEN_PATTERN } from '../auth/crypto.js';
import { ApiError } from '../errors.js';
import type { Principal } from '../settings/types.js';
import { ACTIONS, type Action, type Services } from './actions.js';
import { errorAnswer, okAnswer, type Answer } from './answer.js';
import { RateLimiter } from './rate-limit.js';
import { isObject, type Json } from '../json.js';

/** hash in the body, else in the query, else `Authorization: NVX <hash>` (docs/api.md#credentials). */
function credentialOf(body: Json, query: Json | undefined, authorization: string | undefined): unknown {
  if (body.hash !== undefined) return body.hash;
  if (query?.hash !== undefined) return query.hash;
  return authorization?.startsWith('NVX ') ? authorization.slice(4).trim() : undefined;
}

/** The call's parameters: body over query, without the credential. */
function paramsOf(query: Json | undefined, body: Json): Json {
  const { hash: _hash, ...params } = query === undefined ? body : { ...query, ...body };
  return params;
}

/**
 * The one implementation of the checks (docs/api.md#order-of-checks) after the body is read, for both the fastify route
 * and the pre-routed fast path (src/http/fast-path.ts): body an object (5) → known call (111) →
 * credential (3, 4) → rate limits per credential then per address (15) → the call's own checks.
 * Synchronous for synchronous calls (read): the hot path makes no promise.
 */
export class CallHandler {
  private readonly perCredential: RateLimiter;
  private readonly perAddress: RateLimiter;

  constructor(
    private readonly services: Services,
    limits: { readonly rateLimitPerCredential: number; readonly rateLimitPerAddress: number },
  ) {
    this.perCredential = new RateLimiter(limits.rateLimitPerCredential);
    this.perAddress = new RateLimiter(limits.rateLimitPerAddress);
  }

  /**
   * `name` is the path without prefix or trailing slash (`actionName`); `query` undefined when the
   * URL has none (the fast path: saves a copy); `log` gets 5xx errors.
   */
  handle(
    name: string,
    body: unknown,
    query: Json | undefined,
    authorization: string | undefined,
    ip: string | undefined,
    log: FastifyBaseLogger,
  ): Answer | Promise<Answer> {
    if (!isObject(body)) return errorAnswer(new ApiError('wrongFormat'), log);
    const action = ACTIONS.get(name);
    if (!action) return errorAnswer(new ApiError('wrongHandler'), log);
    let text: string | Promise<string>;
    try {
      text = this.run(action, body, query, authorization, ip);
    } catch (err) {
      return errorAnswer(err, log);
    }
    if (typeof text === 'string') return okAnswer(text);
    return text.then(okAnswer, (err: unknown) => errorAnswer(err, log));
  }

  private run(action: Action, body: Json, query: Json | undefined, authorization: string | undefined, ip: string | undefined): string | Promise<string> {
    let principal: Principal | undefined;
    if (action.authenticated) {
      const hash = credentialOf(body, query, authorization);
      if (typeof hash !== 'string' || !TOKEN_PATTERN.test(hash)) throw new ApiError('wrongHash');
      principal = this.services.auth.authenticate(hash);
      if (!this.perCredential.take(hash)) throw new ApiError('tooManyRequests');
    }
    // fastify's request.ip is the socket's remoteAddress (no trustProxy): undefined once the client
    // is gone, one more key for the limiter, as it always was.
    if (!this.perAddress.take(ip as string)) throw new ApiError('tooManyRequests');
    return action.run(this.services, paramsOf(query, body), principal);
  }
}
