import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Answer } from './answer.js';
import { CALL_METHODS } from './routes.js';

/**
 * On every HTTP answer of the service: the API on both paths, its client errors, and the plain
 * HTTP answers of the MQTT WebSocket listener (docs/api.md#transport).
 */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
} as const;

/** Only over HTTPS: a browser ignores it over plain HTTP. One year, this host only. */
export const HSTS = { 'strict-transport-security': 'max-age=31536000' } as const;

/** A preflight's own headers (docs/api.md#cors): the methods that run calls, the headers by name. */
export const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': CALL_METHODS.join(', '),
  'access-control-allow-headers': 'Content-Type, Authorization',
  'access-control-max-age': '86400',
} as const;

/** What fastify makes of `.type('application/json')` and of an object it serializes. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** Which origins may call the API from a browser: any (`*`) or the listed ones (docs/api.md#cors). */
export type CorsOrigins = '*' | readonly string[];

export interface HeaderOptions {
  readonly corsOrigins: CorsOrigins;
  /** The listener is HTTPS: HSTS too. */
  readonly https: boolean;
}

const ALLOW_ORIGIN = 'access-control-allow-origin';

/**
 * The one place that decides the headers of an API answer, for both writers: fastify's (its onSend
 * hook, `applyTo`) and the fast path's (`writeRaw`), in the same order so their bytes are the same
 * (test/http/fast-path.test.ts). Security headers, HSTS on HTTPS, and CORS: `*`, or the request's
 * Origin echoed when listed (with `Vary: Origin` on every answer, as the answer depends on it).
 * Never `Access-Control-Allow-Credentials`: credentials are never cookies.
 */
export class AnswerHeaders {
  /** The same on every answer of this listener. */
  readonly fixed: Readonly<Record<string, string>>;
  private readonly listed: ReadonlySet<string> | undefined;
  /** The fast path's header lists: [keep-alive, close] × [no echo, echoed origin]; slots filled per answer. */
  private readonly lists: readonly (readonly string[][])[];

  constructor(options: HeaderOptions) {
    const cors: Record<string, string> = options.corsOrigins === '*' ? { [ALLOW_ORIGIN]: '*' } : { vary: 'Origin' };
    this.fixed = Object.freeze({ ...SECURITY_HEADERS, ...(options.https && HSTS), ...cors });
    this.listed = options.corsOrigins === '*' ? undefined : new Set(options.corsOrigins);
    const base = ['content-type', JSON_TYPE, ...Object.entries(this.fixed).flat()];
    const tail = ['content-length', ''];
    const echo = [ALLOW_ORIGIN, ''];
    const keep = [
      [...base, ...tail],
      [...base, ...echo, ...tail],
    ];
    const close = keep.map((list) => ['connection', 'close', ...list]);
    this.lists = [keep, close];
  }

  /** The origin to echo for a request's Origin header, or undefined (`*`, none, or not listed). */
  echoedOrigin(origin: string | undefined): string | undefined {
    return origin !== undefined && this.listed?.has(origin) ? origin : undefined;
  }

  /** fastify's side (onSend, and answers made outside a route): the headers, in writeRaw's order. */
  applyTo(request: FastifyRequest, reply: FastifyReply): void {
    reply.headers(this.fixed);
    const origin = this.echoedOrigin(request.headers.origin);
    if (origin !== undefined) reply.header(ALLOW_ORIGIN, origin);
  }

  /**
   * The fast path's writer: the very bytes fastify sends for the same answer (header names, values
   * and order; node adds Date and the keep-alive or close headers to both). The lists are reused:
   * node renders them into the head synchronously inside writeHead and keeps no reference.
   */
  readonly writeRaw = (res: ServerResponse, answer: Answer): void => {
    const origin = this.echoedOrigin(res.req.headers.origin);
    const headers = this.lists[answer.close ? 1 : 0]![origin === undefined ? 0 : 1]!;
    if (origin !== undefined) headers[headers.length - 3] = origin;
    headers[headers.length - 1] = String(Buffer.byteLength(answer.body));
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  };
}
