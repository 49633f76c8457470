import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { errorBody } from '../errors.js';
import { classify } from './errors.js';
import { JSON_TYPE } from './headers.js';

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
  const { def, errors, extra } = classify(err);
  if (def.http >= 500) log.error({ err }, 'request failed');
  return { status: def.http, body: JSON.stringify(errorBody(def, errors, extra)), code: def.code };
}

/** fastify's writer (its onSend hook adds the headers of headers.ts, it adds content-length itself). */
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
