import formbody from '@fastify/formbody';
import type { Logger } from '../logger.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { TOKEN_PATTERN } from '../auth/crypto.js';
import { ApiError, Errors } from '../errors.js';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Principal } from '../settings/types.js';
import { ACTIONS, actionName, type Services } from './actions.js';
import { classify, errorBody } from './errors.js';
import { RateLimiter } from './rate-limit.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';

export interface HttpOptions {
  readonly bodyLimit: number;
  readonly rateLimitPerCredential: number;
  readonly rateLimitPerAddress: number;
  readonly requestTimeoutMs?: number;
  /** A client must send the whole request head within this (slowloris); checked about twice as often. */
  readonly headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs?: number;
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

/**
 * Requests node's HTTP parser refuses before fastify sees them (malformed request line or headers,
 * headers too large, too slow): the Navixy envelope (5, wrong request format) with node's status
 * (400, 431, 408) and the security headers, then the connection is closed. Nothing is logged: the
 * error carries the raw request bytes, credentials included.
 */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify(errorBody(Errors.wrongFormat));
  const headers = Object.entries({ ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers}\r\n${body}`);
  socket.destroy();
}

/** The Navixy-compatible API: one route that runs SPEC §3's checks in order. */
export function buildHttpApp(services: Services, options: HttpOptions): FastifyInstance {
  // Slow clients: the request head within headersTimeout (a silent connection too), the whole request
  // within requestTimeout (node answers 408 and closes), idle keep-alive closed after keepAliveTimeout.
  // Node checks the first two every connectionsCheckingInterval (30 s by default: here at most 1 s).
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  const nodeServer = {
    requestTimeout,
    headersTimeout,
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 2))),
    // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; an API with one
    // virtual host serves it like any other (every answer is the Navixy envelope).
    requireHostHeader: false,
  };
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    loggerInstance: options.logger as FastifyBaseLogger,
    ...(options.https ? { https: { ...nodeServer, ...options.https } } : { http: nodeServer }),
    requestTimeout,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 72_000,
    return503OnClosing: true,
    clientErrorHandler,
    // A URL that does not even decode (`/%zz`) is an unknown path too, answered like any other.
    frameworkErrors: (err, _request, reply) => {
      reply.headers(SECURITY_HEADERS);
      return fail(reply, err.code === 'FST_ERR_BAD_URL' ? new ApiError('wrongHandler') : err);
    },
    // Per-request lines would dominate the log and the CPU at fleet scale; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
  });
  const perCredential = new RateLimiter(options.rateLimitPerCredential);
  const perAddress = new RateLimiter(options.rateLimitPerAddress);

  app.register(formbody, { bodyLimit: options.bodyLimit });
  // Any other content type is read (so an oversized body still answers 9 first) and then refused: 5.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, _body, done) =>
    done(new ApiError('wrongFormat'), undefined),
  );
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
      // No body at all (GET) is no parameters; a JSON `null` body is a body that is not an object.
      const body: unknown = request.body === undefined ? {} : request.body;
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
