import type { FastifyBaseLogger } from 'fastify';
import { TOKEN_PATTERN } from '../auth/crypto.js';
import { ApiError } from '../errors.js';
import type { Principal } from '../settings/types.js';
import type { Action, Services } from './actions.js';
import { errorAnswer, okAnswer, type Answer } from './answer.js';
import type { Route } from './routes.js';
import type { RateLimit } from '../rate-limit.js';
import { inProcessLimits, type LimitStore } from '../settings/limits.js';
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

/** Counts every answer by call and Navixy code (the service's metrics, docs/operations.md#metrics). */
export interface RequestCounters {
  answered(call: string, code: number): void;
  rateLimited(protocol: 'http'): void;
}

/**
 * The one implementation of the checks of docs/api.md#order-of-checks after the body is read, for both the fastify route
 * and the pre-routed fast path (src/http/fast-path.ts): body an object (5) → known call (111) →
 * credential (3, 4) → rate limits per credential then per address (15) → the call's own checks.
 * Synchronous for synchronous calls (read): the hot path makes no promise.
 */
export class CallHandler {
  private readonly perCredential: RateLimit;
  private readonly perAddress: RateLimit;
  private readonly counters: RequestCounters | undefined;

  constructor(
    private readonly services: Services,
    limits: {
      readonly rateLimitPerCredential: number;
      readonly rateLimitPerAddress: number;
      readonly counters?: RequestCounters | undefined;
      /** Where the buckets count; this process unless given (src/settings/limits.ts). */
      readonly limits?: LimitStore | undefined;
    },
  ) {
    this.counters = limits.counters;
    const store = limits.limits ?? inProcessLimits();
    this.perCredential = store.rateLimit('credential', limits.rateLimitPerCredential);
    this.perAddress = store.rateLimit('address', limits.rateLimitPerAddress);
  }

  /**
   * `route` is the call the route table found for the path (undefined: none, 111); `query`
   * undefined when the URL has none (the fast path: saves a copy); `log` gets 5xx errors.
   */
  handle(
    route: Route | undefined,
    body: unknown,
    query: Json | undefined,
    authorization: string | undefined,
    ip: string | undefined,
    log: FastifyBaseLogger,
  ): Answer | Promise<Answer> {
    if (!isObject(body)) return this.count(route, errorAnswer(new ApiError('wrongFormat'), log));
    const action = route?.action;
    if (!action) return this.count(route, errorAnswer(new ApiError('wrongHandler'), log));
    let text: string | Promise<string>;
    try {
      text = this.run(action, body, query, authorization, ip);
    } catch (err) {
      return this.count(route, errorAnswer(err, log));
    }
    if (typeof text === 'string') return this.count(route, okAnswer(text));
    // counted where the answer is made: no promise of its own for the count
    return text.then(
      (t) => this.count(route, okAnswer(t)),
      (err: unknown) => this.count(route, errorAnswer(err, log)),
    );
  }

  /** Counts an answer of the call (also for requests refused before they reach `handle`). */
  count(route: Route | undefined, answer: Answer): Answer {
    this.counters?.answered(route?.name ?? 'unknown', answer.code ?? 0);
    return answer;
  }

  private run(action: Action, body: Json, query: Json | undefined, authorization: string | undefined, ip: string | undefined): string | Promise<string> {
    let principal: Principal | undefined;
    if (action.authenticated) {
      const hash = credentialOf(body, query, authorization);
      if (typeof hash !== 'string' || !TOKEN_PATTERN.test(hash)) throw new ApiError('wrongHash');
      principal = this.services.auth.authenticate(hash);
      const allowed = this.perCredential.take(hash);
      if (allowed === false) throw this.limited();
      if (allowed !== true) return this.afterShared(allowed, action, body, query, ip, principal, true);
    }
    return this.afterCredential(action, body, query, ip, principal);
  }

  private afterCredential(
    action: Action,
    body: Json,
    query: Json | undefined,
    ip: string | undefined,
    principal: Principal | undefined,
  ): string | Promise<string> {
    // fastify's request.ip is the socket's remoteAddress (no trustProxy): undefined once the client
    // is gone, one more key for the limiter, as it always was.
    const allowed = this.perAddress.take(ip as string);
    if (allowed === false) throw this.limited();
    if (allowed !== true) return this.afterShared(allowed, action, body, query, ip, principal, false);
    return action.run(this.services, paramsOf(query, body), principal);
  }

  /** A limit counted by every node (src/cluster/redis-limits.ts) answers later: only then is this path async. */
  private async afterShared(
    allowed: Promise<boolean>,
    action: Action,
    body: Json,
    query: Json | undefined,
    ip: string | undefined,
    principal: Principal | undefined,
    addressNext: boolean,
  ): Promise<string> {
    if (!(await allowed)) throw this.limited();
    return addressNext ? this.afterCredential(action, body, query, ip, principal) : action.run(this.services, paramsOf(query, body), principal);
  }

  private limited(): ApiError {
    this.counters?.rateLimited('http');
    return new ApiError('tooManyRequests');
  }
}
