import type { ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { classify, errorBody } from './errors.js';

/** On every answer, whichever path wrote it (fastify adds them in its onSend hook). */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
} as const;

/** What fastify makes of `.type('application/json')` and of an object it serializes. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** An answer of the API: HTTP status and the JSON text of the Navixy envelope. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  /**
   * Close the connection after it: the body was not (fully) read, so the client may still be
   * sending (fastify's body parser sets `connection: close` on every error of its own).
   */
  readonly close?: boolean;
  /** The Navixy error code of an error answer (the requests metric); absent on success. */
  readonly code?: number;
}

export function okAnswer(body: string): Answer {
  return { status: 200, body };
}

/** The Navixy error envelope for anything thrown; 5xx are logged (never sent: no driver text). */
export function errorAnswer(err: unknown, log: FastifyBaseLogger): Answer {
  const { def, errors } = classify(err);
  if (def.http >= 500) log.error({ err }, 'request failed');
  return { status: def.http, body: JSON.stringify(errorBody(def, errors)), code: def.code };
}

/** The headers fastify sends, in its order, as flat [name, value, …] lists (content-length last). */
const SECURITY_LIST = Object.entries(SECURITY_HEADERS).flat();
const KEEP_HEADERS: string[] = ['content-type', JSON_TYPE, ...SECURITY_LIST, 'content-length', ''];
const CLOSE_HEADERS: string[] = ['connection', 'close', ...KEEP_HEADERS];

/**
 * The fast path's writer: the very bytes fastify sends for the same answer (header names, values and
 * order; node adds Date and the keep-alive or close headers to both). Checked byte for byte by
 * test/http/fast-path.test.ts. The header lists are reused: node renders them into the head
 * synchronously inside writeHead and keeps no reference.
 */
export function writeRaw(res: ServerResponse, answer: Answer): void {
  const headers = answer.close ? CLOSE_HEADERS : KEEP_HEADERS;
  headers[headers.length - 1] = String(Buffer.byteLength(answer.body));
  res.writeHead(answer.status, headers);
  res.end(answer.body);
}

/** fastify's writer (its onSend hook adds the security headers, it adds content-length itself). */
export function sendReply(reply: FastifyReply, answer: Answer): void {
  // The fastify path never sets `close`: fastify's own body parser adds `connection: close` then.
  reply.code(answer.status).header('content-type', JSON_TYPE).send(answer.body);
}

/**
 * The one place an answer computed by the API leaves: only once what it says is durable
 * (`Services.durable`). Synchronous when nothing is pending, so the hot path makes no promise.
 * If the gate fails, the answer becomes the error the failure classifies as (1 for the database).
 */
export function deliver<T>(
  durable: (() => Promise<void> | undefined) | undefined,
  answer: Answer,
  write: (target: T, answer: Answer) => void,
  target: T,
  log: FastifyBaseLogger,
): Promise<void> | undefined {
  let pending: Promise<void> | undefined;
  try {
    pending = durable?.();
  } catch (err) {
    pending = Promise.reject(err);
  }
  if (pending === undefined) {
    write(target, answer);
    return undefined;
  }
  const failed = (err: unknown): Answer => (answer.close ? { ...errorAnswer(err, log), close: true } : errorAnswer(err, log));
  return pending
    .then(
      () => write(target, answer),
      (err: unknown) => write(target, failed(err)),
    )
    .catch((err: unknown) => log.error({ err }, 'answer not written')); // never an unhandled rejection
}
