import formbody from '@fastify/formbody';
import type { Logger } from '../logger.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, Errors } from '../errors.js';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { actionName, type Services } from './actions.js';
import { SECURITY_HEADERS, deliver, errorAnswer, sendReply } from './answer.js';
import { CallHandler } from './call.js';
import { isObject } from '../json.js';
import { errorBody } from './errors.js';
import { FastPath } from './fast-path.js';
import { serverFactory } from './server-factory.js';
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
  /**
   * false: every request goes through fastify, none is pre-routed (the tests compare both paths
   * byte for byte; also a switch should the fast path ever need to be ruled out). Default true.
   */
  readonly fastPath?: boolean;
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

/**
 * The Navixy-compatible API: one route that runs the checks of docs/api.md#order-of-checks in order, with the hot calls
 * (settings read and update, POST JSON) pre-routed in front of fastify by src/http/fast-path.ts.
 * Both run the same CallHandler and write through answer.ts.
 */
export function buildHttpApp(services: Services, options: HttpOptions): FastifyInstance {
  // Slow clients: the request head within headersTimeout (a silent connection too), the whole request
  // within requestTimeout (node answers 408 and closes), idle keep-alive closed after keepAliveTimeout.
  // Node checks the first two every connectionsCheckingInterval (30 s by default: here at most 1 s).
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 72_000;
  const calls = new CallHandler(services, options);
  const fast = new FastPath(calls, services, options.bodyLimit, options.logger as FastifyBaseLogger);
  fast.enabled = options.fastPath ?? true;
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    loggerInstance: options.logger as FastifyBaseLogger,
    serverFactory: serverFactory(
      {
        requestTimeout,
        headersTimeout,
        connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 2))),
        // Node answers an HTTP/1.1 request without Host with a bare 400 of its own; an API with one
        // virtual host serves it like any other (every answer is the Navixy envelope).
        requireHostHeader: false,
        keepAliveTimeout,
        https: options.https,
      },
      fast,
    ),
    // Only for the listen log's URLs (https://…): the server itself comes from serverFactory.
    ...(options.https && { https: options.https }),
    requestTimeout,
    keepAliveTimeout,
    return503OnClosing: true,
    clientErrorHandler,
    // A URL that does not even decode (`/%zz`) is an unknown path too, answered like any other.
    frameworkErrors: (err, request, reply) => {
      reply.headers(SECURITY_HEADERS);
      return fail(request, reply, err.code === 'FST_ERR_BAD_URL' ? new ApiError('wrongHandler') : err);
    },
    // Per-request lines would dominate the log and the CPU at fleet scale; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
  });
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  fast.useJsonParser(app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error'));
  // fastify answers 503 from the moment it starts closing: the fast path leaves it every request.
  app.addHook('preClose', (done) => {
    fast.enabled = false;
    done();
  });

  app.register(formbody, { bodyLimit: options.bodyLimit });
  // Any other content type is read (so an oversized body still answers 9 first) and then refused: 5.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, _body, done) =>
    done(new ApiError('wrongFormat'), undefined),
  );
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  // Every answer of the API leaves through `deliver` (the durability gate), on both paths.
  const fail = (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply | Promise<FastifyReply> => {
    const pending = deliver(services.durable, errorAnswer(err, reply.log), sendReply, reply, request.log);
    return pending === undefined ? reply : pending.then(() => reply);
  };

  app.setErrorHandler((err, request, reply) => fail(request, reply, err));
  app.setNotFoundHandler((request, reply) => fail(request, reply, new ApiError('wrongHandler')));

  app.get('/health', async (_request, reply) =>
    options.isReady() ? { status: 'ok' } : reply.code(503).send({ status: 'starting' }),
  );

  app.route({
    method: ['GET', 'POST'],
    url: '/*',
    handler: async (request, reply) => {
      // No body at all (GET) is no parameters; a JSON `null` body is a body that is not an object.
      const body: unknown = request.body === undefined ? {} : request.body;
      const query = isObject(request.query) ? request.query : {};
      const answer = await calls.handle(actionName(request.url), body, query, request.headers.authorization, request.ip, request.log);
      await deliver(services.durable, answer, sendReply, reply, request.log);
      return reply;
    },
  });
  return app;
}
