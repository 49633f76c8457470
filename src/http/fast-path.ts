import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyBodyParser, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Services } from './actions.js';
import { deliver, errorAnswer, writeRaw, type Answer } from './answer.js';
import type { CallHandler } from './call.js';

/**
 * The hot calls served straight from node:http, in front of fastify (docs/benchmarks.md: fastify's per-request
 * machinery, its serializer and its promise hops were a third of a read's CPU). Only a request whose
 * head is unambiguous is taken: POST to one of the exact paths below (no query string) with a JSON
 * content type; everything else, HEAD and GET included, goes to fastify untouched. A taken request
 * is answered exactly as fastify answers it (test/http/fast-path.test.ts compares the bytes): the
 * same body limit and JSON parser (fastify's own), then the one check sequence (CallHandler) and the
 * one writer (answer.ts) behind the durability gate.
 */
const CALLS = ['tracker/settings/tracking/read', 'tracker/settings/tracking/update'];

/** `/x`, `/x/`, `/v2/x`, `/v2/x/` → `x`: the forms `actionName` reduces to `x` that clients send. */
const ROUTES: ReadonlyMap<string, string> = new Map(
  CALLS.flatMap((name) => ['', '/v2'].flatMap((prefix) => ['', '/'].map((slash) => [`${prefix}/${name}${slash}`, name] as const))),
);

/** What fastify's JSON parser is registered for, as clients send it (other spellings go to fastify). */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

const READING = Symbol('trackconf.fastPath.reading');

/** A request whose body is being read; kept on the request so the shared listeners find it. */
interface Reading {
  readonly fast: FastPath;
  readonly res: ServerResponse;
  readonly name: string;
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
    readonly bodyLimit: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** fastify's own JSON parser (`getDefaultJsonParser`), known once the instance exists. */
  useJsonParser(parser: FastifyBodyParser<string>): void {
    this.parseJson = parser;
  }

  /** Takes the request (true) or leaves it to fastify (false), on the request head alone. */
  take(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || !this.enabled || this.parseJson === undefined) return false;
    const name = ROUTES.get(req.url ?? '');
    const type = req.headers['content-type'];
    if (name === undefined || type === undefined || !JSON_TYPES.has(type)) return false;
    // fastify refuses a declared length over the limit before reading anything.
    const expected = Number(req.headers['content-length']);
    if (expected > this.bodyLimit) {
      this.answer(res, { ...errorAnswer(new ApiError('tooLarge'), this.log), close: true });
      return true;
    }
    const reading: Reading = { fast: this, res, name, expected, chunks: [], length: 0 };
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
    if (err != null) return this.answer(res, { ...errorAnswer(err, this.log), close: true });
    const answer = this.calls.handle(reading.name, body, undefined, req.headers.authorization, req.socket.remoteAddress, this.log);
    if (answer instanceof Promise) void answer.then((a) => this.answer(res, a));
    else this.answer(res, answer);
  }

  /** A refusal of the body itself (5, 9): the client may still be sending, so the connection closes. */
  refuse(res: ServerResponse, error: ApiError): void {
    this.answer(res, { ...errorAnswer(error, this.log), close: true });
  }

  private answer(res: ServerResponse, answer: Answer): void {
    void deliver(this.services.durable, answer, writeRaw, res, this.log);
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
  if (reading.length > reading.fast.bodyLimit) {
    // As fastify: stop listening (the request keeps flowing into nothing) and answer 9.
    stop(this);
    reading.fast.refuse(reading.res, new ApiError('tooLarge'));
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
    reading.fast.refuse(reading.res, new ApiError('wrongFormat'));
    return;
  }
  reading.fast.finish(this, reading);
}
