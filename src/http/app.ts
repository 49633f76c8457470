import formbody from '@fastify/formbody';
import type { Logger } from '../logger.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TOKEN_PATTERN } from '../auth/crypto.js';
import { ApiError } from '../errors.js';
import type { Principal } from '../settings/types.js';
import { ACTIONS, actionName, type Services } from './actions.js';
import { classify, errorBody } from './errors.js';
import { RateLimiter } from './rate-limit.js';

export interface HttpOptions {
  readonly bodyLimit: number;
  readonly rateLimitPerCredential: number;
  readonly rateLimitPerAddress: number;
  readonly requestTimeoutMs?: number;
  /** The service's logger (fastify logs through it). */
  readonly logger: Logger;
  /** /health answers 200 only once this says the listeners accept connections. */
  readonly isReady: () => boolean;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
}

type Json = Record<string, unknown>;

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
} as const;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** hash in the body, else in the query, else `Authorization: NVX <hash>` (SPEC §3). */
function credentialOf(body: Json, query: Json, request: FastifyRequest): unknown {
  if (body.hash !== undefined) return body.hash;
  if (query.hash !== undefined) return query.hash;
  const header = request.headers.authorization;
  return header?.startsWith('NVX ') ? header.slice(4).trim() : undefined;
}

/** The Navixy-compatible API: one route that runs SPEC §3's checks in order. */
export function buildHttpApp(services: Services, options: HttpOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    loggerInstance: options.logger as FastifyBaseLogger,
    ...(options.https && { https: options.https }),
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    return503OnClosing: true,
    // Per-request lines would dominate the log and the CPU at fleet scale; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const perCredential = new RateLimiter(options.rateLimitPerCredential);
  const perAddress = new RateLimiter(options.rateLimitPerAddress);

  app.register(formbody, { bodyLimit: options.bodyLimit });
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  const fail = (reply: FastifyReply, err: unknown) => {
    const { def, errors } = classify(err);
    if (def.http >= 500) reply.log.error({ err }, 'request failed');
    return reply.code(def.http).type('application/json').send(errorBody(def, errors));
  };

  app.setErrorHandler((err, _request, reply) => fail(reply, err));
  app.setNotFoundHandler((_request, reply) => fail(reply, new ApiError('wrongHandler')));

  app.get('/health', async (_request, reply) =>
    options.isReady() ? { status: 'ok' } : reply.code(503).send({ status: 'starting' }),
  );

  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (request, reply) => {
      const body: unknown = request.body ?? {};
      if (!isObject(body)) return fail(reply, new ApiError('wrongFormat'));
      const query = isObject(request.query) ? request.query : {};
      const action = ACTIONS.get(actionName(request.url));
      if (!action) return fail(reply, new ApiError('wrongHandler'));
      try {
        let principal: Principal | undefined;
        if (action.authenticated) {
          const hash = credentialOf(body, query, request);
          if (typeof hash !== 'string' || !TOKEN_PATTERN.test(hash)) throw new ApiError('wrongHash');
          principal = services.auth.authenticate(hash);
          if (!perCredential.take(hash)) throw new ApiError('tooManyRequests');
        }
        if (!perAddress.take(request.ip)) throw new ApiError('tooManyRequests');
        const { hash: _hash, ...params } = { ...query, ...body };
        const result = await action.run(services, params, principal);
        return { success: true, ...result };
      } catch (err) {
        return fail(reply, err);
      }
    },
  });
  return app;
}
