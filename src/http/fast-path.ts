import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyBodyParser, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Services } from './actions.js';
import { deliver, errorAnswer, type Answer } from './answer.js';
import type { CallHandler } from './call.js';
import type { AnswerHeaders } from './headers.js';
import { FAST_JSON_TYPES, type Route, type RouteTable } from './routes.js';

/**
 * The calls served straight from node:http, in front of fastify (docs/benchmarks.md: fastify's
 * per-request machinery, its serializer and its promise hops were a third of a read's CPU). Only a
 * request whose head is unambiguous is taken: POST to a call's exact path in the route table (no
 * query string) with a JSON content type it knows on sight (src/http/routes.ts); everything else,
 * GET, HEAD and OPTIONS included, goes to fastify untouched. A taken request is answered exactly as
 * fastify answers it (test/http/fast-path.test.ts compares the bytes): the call's body limit, fastify's
 * own JSON parser, then the one check sequence (CallHandler) and the one header set (headers.ts)
 * behind the durability gate.
 */
const READING = Symbol('trackconf.fastPath.reading');

/** A request whose body is being read; kept on the request so the shared listeners find it. */
interface Reading {
  readonly fast: FastPath;
  readonly res: ServerResponse;
  readonly route: Route;
  readonly expected: number;
  readonly chunks: Buffer[];
  length: number;
}

type Taken = IncomingMessage & { [READING]?: Reading };

export class FastPath {
  /** false: fastify gets every request (cleared when fastify starts closing: it answers 503 then). */
  enabled = true;
  private parseJson: FastifyBodyParser<string> | undefined;
  private parsedError: unknown = null;
  private parsedBody: unknown;
  private readonly captureParsed = (err: Error | null, body?: unknown): void => {
    this.parsedError = err;
    this.parsedBody = body;
  };

  constructor(
    private readonly calls: CallHandler,
    private readonly services: Services,
    private readonly routes: RouteTable,
    private readonly headers: AnswerHeaders,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** fastify's own JSON parser (`getDefaultJsonParser`), known once the instance exists. */
  useJsonParser(parser: FastifyBodyParser<string>): void {
    this.parseJson = parser;
  }

  /** Takes the request (true) or leaves it to fastify (false), on the request head alone. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || !this.enabled || this.parseJson === undefined) return false;
    const route = this.routes.exact(req.url ?? '');
    const type = req.headers['content-type'];
    if (route === undefined || type === undefined || !FAST_JSON_TYPES.has(type)) return false;
    // fastify refuses a declared length over the limit before reading anything.
    const expected = Number(req.headers['content-length']);
    if (expected > route.bodyLimit) {
      this.refuse(res, route, new ApiError('tooLarge'));
      return true;
    }
    const reading: Reading = { fast: this, res, route, expected, chunks: [], length: 0 };
    (req as Taken)[READING] = reading;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
    return true;
  }

  /** The whole body is in: parse it as fastify does, then the checks of every call. */
  finish(req: IncomingMessage, reading: Reading): void {
    const { res, chunks, length } = reading;
    const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)).toString('utf8');
    // fastify's parser calls back synchronously: one callback per instance, no closure per request.
    this.parseJson!(req as unknown as FastifyRequest, text, this.captureParsed);
    const err = this.parsedError;
    const body = this.parsedBody;
    this.parsedError = null;
    this.parsedBody = undefined;
    if (err != null) return this.refuse(res, reading.route, err);
    const answer = this.calls.handle(reading.route, body, undefined, req.headers.authorization, req.socket.remoteAddress, this.log);
    if (answer instanceof Promise) void answer.then((a) => this.answer(res, a));
    else this.answer(res, answer);
  }

  /** A refusal of the body itself (5, 9): the client may still be sending, so the connection closes. */
  refuse(res: ServerResponse, route: Route, error: unknown): void {
    this.answer(res, this.calls.count(route, { ...errorAnswer(error, this.log), close: true }));
  }

  private answer(res: ServerResponse, answer: Answer): void {
    void deliver(this.services.durable, answer, this.headers.writeRaw, res, this.log);
  }
}

function stop(req: Taken): Reading | undefined {
  const reading = req[READING];
  req[READING] = undefined;
  req.removeListener('data', onData);
  req.removeListener('end', onEnd);
  req.removeListener('error', onEnd);
  return reading;
}

// Shared listeners (`this` is the request): no closures per request.
function onData(this: Taken, chunk: Buffer): void {
  const reading = this[READING];
  if (reading === undefined) return;
  reading.length += chunk.length;
  if (reading.length > reading.route.bodyLimit) {
    // As fastify: stop listening (the request keeps flowing into nothing) and answer 9.
    stop(this);
    reading.fast.refuse(reading.res, reading.route, new ApiError('tooLarge'));
    return;
  }
  reading.chunks.push(chunk);
}

function onEnd(this: Taken, err?: unknown): void {
  const reading = this[READING];
  if (reading === undefined) return;
  // After 'end' nothing more comes: forgetting the state is enough (no removeListener calls).
  if (err === undefined) this[READING] = undefined;
  else stop(this);
  // A stream error or a length that differs from content-length: fastify's 400s, that is 5.
  if (err != null || (!Number.isNaN(reading.expected) && reading.length !== reading.expected)) {
    reading.fast.refuse(reading.res, reading.route, new ApiError('wrongFormat'));
    return;
  }
  reading.fast.finish(this, reading);
}
