import formbody from '@fastify/formbody';
import type { Logger } from '../logger.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ApiError, Errors, errorBody } from '../errors.js';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ACTIONS, type Action, type Services } from './actions.js';
import { deliver, errorAnswer, sendReply } from './answer.js';
import { CallHandler, type RequestCounters } from './call.js';
import type { LimitStore } from '../settings/limits.js';
import { isObject } from '../json.js';
import { FastPath } from './fast-path.js';
import { AnswerHeaders, JSON_TYPE, PREFLIGHT_HEADERS, type CorsOrigins } from './headers.js';
import { CALL_METHODS, RouteTable, type Route } from './routes.js';
import { serverFactory } from './server-factory.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { registerConsole } from '../console/serve.js';
import { registerOperationsRoutes, type MetricsEndpoint } from './operations.js';

export interface HttpOptions {
  readonly bodyLimit: number;
  readonly rateLimitPerCredential: number;
  readonly rateLimitPerAddress: number;
  /** Where the rate limits count: this process unless given (several nodes: src/settings/limits.ts). */
  readonly limits?: LimitStore;
  readonly requestTimeoutMs?: number;
  /** A client must send the whole request head within this (slowloris); checked about twice as often. */
  readonly headersTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs?: number;
  /** The service's logger (fastify logs through it). */
  readonly logger: Logger;
  /** /health answers 200 only once this says the listeners accept connections. */
  readonly isReady: () => boolean;
  /** Performance patches not in use, listed by /health (docs/aedes-internals.md). */
  readonly degraded?: () => readonly string[];
  /** Why the service can no longer serve correctly (a failed database flush): /health answers 503 with it. */
  readonly failure?: () => string | undefined;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer };
  /** The calls served; default ACTIONS (tests add calls with their own body limit). */
  readonly actions?: ReadonlyMap<string, Action>;
  /** Origins whose pages may call the API (docs/api.md#cors). Default `*`. */
  readonly corsOrigins?: CorsOrigins;
  /**
   * false: every request goes through fastify, none is pre-routed (the tests compare both paths
   * byte for byte; also a switch should the fast path ever need to be ruled out). Default true.
   */
  readonly fastPath?: boolean;
  /** One log line per request (fastify's request logging); default false. */
  readonly logRequests?: boolean;
  /** Counts answers by call and code, and rate-limited requests. */
  readonly counters?: RequestCounters;
  /** `GET /metrics`; none when undefined. */
  readonly metrics?: MetricsEndpoint;
}

/**
 * Requests node's HTTP parser refuses before fastify sees them (malformed request line or headers,
 * headers too large, too slow): the Navixy envelope (5, wrong request format) with node's status
 * (400, 431, 408) and the listener's fixed headers, then the connection is closed. Nothing is
 * logged: the error carries the raw request bytes, credentials included.
 */
function clientErrorHandler(answerHeaders: AnswerHeaders): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify(errorBody(Errors.wrongFormat));
    const headers = Object.entries({
      ...answerHeaders.fixed,
      'content-type': JSON_TYPE,
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    })
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${headers}\r\n${body}`);
    socket.destroy();
  };
}

/**
 * The Navixy-compatible API (docs/api.md): a route per call from one route table (routes.ts) that
 * runs the checks of docs/api.md#order-of-checks, with POST JSON calls pre-routed in front of
 * fastify by src/http/fast-path.ts. Both run the same CallHandler and answer with the same headers.
 */
export function buildHttpApp(services: Services, options: HttpOptions): FastifyInstance {
  // Slow clients: the request head within headersTimeout (a silent connection too), the whole request
  // within requestTimeout (node answers 408 and closes), idle keep-alive closed after keepAliveTimeout.
  // Node checks the first two every connectionsCheckingInterval (30 s by default: here at most 1 s).
  const requestTimeout = options.requestTimeoutMs ?? 30_000;
  const headersTimeout = Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout);
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 72_000;
  const calls = new CallHandler(services, options);
  const routes = new RouteTable(options.actions ?? ACTIONS, options.bodyLimit);
  const headers = new AnswerHeaders({ corsOrigins: options.corsOrigins ?? '*', https: options.https !== undefined });
  const fast = new FastPath(calls, services, routes, headers, options.logger as FastifyBaseLogger);
  fast.enabled = options.fastPath ?? true;
  const app = Fastify({
    bodyLimit: options.bodyLimit,
    // Only GET and POST run a call: no HEAD route made from a GET one (docs/api.md#transport).
    exposeHeadRoutes: false,
    // `/x/`, `//x` and `/x//` are `/x`, as the fast path's exact forms are (routes.ts).
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
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
    clientErrorHandler: clientErrorHandler(headers),
    // A URL that does not even decode (`/%zz`) is an unknown path too, answered like any other.
    frameworkErrors: (err, request, reply) => {
      headers.applyTo(request, reply);
      return fail(request, reply, err.code === 'FST_ERR_BAD_URL' ? new ApiError('wrongHandler') : err);
    },
    // Per-request lines would dominate the log and the CPU at fleet scale (off unless asked for);
    // errors are always logged.
    logController: new LogController({ disableRequestLogging: options.logRequests !== true }),
    childLoggerFactory: lazyChildLoggerFactory,
  });
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  fast.useJsonParser(app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error'));
  // fastify answers 503 from the moment it starts closing: the fast path leaves it every request.
  app.addHook('preClose', (done) => {
    fast.enabled = false;
    done();
  });

  // The body types of routes.ts BODY_TYPES: fastify's own JSON parser and this one. A route's
  // bodyLimit (its call's) beats a parser's.
  app.register(formbody, { bodyLimit: options.bodyLimit });
  // Any other content type is read (so an oversized body still answers 9 first) and then refused: 5.
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_request, _body, done) => done(new ApiError('wrongFormat'), undefined));
  app.addHook('onSend', async (request, reply) => {
    headers.applyTo(request, reply);
  });

  // Every answer of the API leaves through `deliver` (the durability gate), on both paths.
  const fail = (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply | Promise<FastifyReply> => {
    const answer = calls.count(routes.exact(request.url.split('?', 1)[0] ?? ''), errorAnswer(err, reply.log));
    const pending = deliver(services.durable, answer, sendReply, reply, request.log);
    return pending === undefined ? reply : pending.then(() => reply);
  };

  app.setErrorHandler((err, request, reply) => fail(request, reply, err));
  app.setNotFoundHandler((request, reply) => fail(request, reply, new ApiError('wrongHandler')));

  registerOperationsRoutes(app, options.metrics);

  // HEAD too: it runs nothing here, and monitors probe with it.
  app.route({
    method: ['GET', 'HEAD'],
    url: '/health',
    handler: async (_request, reply) => {
      const failure = options.failure?.();
      if (failure) return reply.code(503).send({ status: 'failing', reason: failure });
      if (!options.isReady()) return reply.code(503).send({ status: 'starting' });
      const degraded = options.degraded?.() ?? [];
      return degraded.length > 0 ? { status: 'ok', degraded } : { status: 'ok' };
    },
  });

  const handler = (route: Route | undefined) => async (request: FastifyRequest, reply: FastifyReply) => {
    // No body at all (GET) is no parameters; a JSON `null` body is a body that is not an object.
    const body: unknown = request.body === undefined ? {} : request.body;
    const query = isObject(request.query) ? request.query : {};
    const answer = await calls.handle(route, body, query, request.headers.authorization, request.ip, request.log);
    await deliver(services.durable, answer, sendReply, reply, request.log);
    return reply;
  };
  for (const route of routes.routes) {
    for (const url of route.paths) app.route({ method: [...CALL_METHODS], url, bodyLimit: route.bodyLimit, handler: handler(route) });
  }
  // The operator console's pages (docs/console.md), on every listener the API is served on.
  registerConsole(app);
  // Any other path: its body is still read and checked before the unknown path answers 111.
  app.route({ method: [...CALL_METHODS], url: '/*', handler: handler(undefined) });
  // A browser's preflight, on any path: 204 with what a call may use, and nothing runs.
  app.options('/*', async (_request, reply) => reply.code(204).headers(PREFLIGHT_HEADERS).send());
  return app;
}
