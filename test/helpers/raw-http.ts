/**
 * HTTP/1.1 over a bare TCP socket, for tests that compare answers byte for byte: the request bytes
 * are written exactly as given (optionally in separate TCP packets), the answers are returned as the
 * server sent them, framed by Content-Length, with only the Date header's value masked.
 */
import { connect } from 'node:net';

export interface RawResponse {
  /** The whole answer as sent (latin1), `Date:` value masked. */
  readonly text: string;
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

export interface Exchange {
  readonly responses: readonly RawResponse[];
  /** Whether the server closed the connection after the answers. */
  readonly closed: boolean;
}

export interface ExchangeOptions {
  /** Answers to wait for (keep-alive: several requests on one connection). Default 1. */
  readonly count?: number;
  /** Between writes of the parts (with Nagle off, each part is its own TCP packet). Default 0. */
  readonly gapMs?: number;
  /** The answers are to HEAD requests (no body despite Content-Length). */
  readonly head?: boolean;
  /** Called with each answer as it arrives (tests that check nothing was answered yet). */
  readonly onResponse?: (response: RawResponse) => void;
}

function parse(buffer: Buffer, head: boolean): { response: RawResponse; rest: Buffer } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const headText = buffer.subarray(0, end).toString('latin1');
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  const length = head ? 0 : Number(headers.get('content-length') ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
  const text = buffer
    .subarray(0, end + 4 + length)
    .toString('latin1')
    .replace(/^(date):.*$/im, '$1: <masked>');
  return { response: { text, status: Number(statusLine.split(' ')[1]), headers, body }, rest: buffer.subarray(end + 4 + length) };
}

/**
 * Bytes no HTTP parser accepts: node:http answers them 400 itself (no handler, no onRequest hook)
 * on a connection still open, and not at all on one the server is closing.
 */
export const PROBE = 'X\r\n\r\n';

export function exchange(port: number, parts: readonly (string | Buffer)[], options: ExchangeOptions = {}): Promise<Exchange> {
  const { count = 1, gapMs = 0, head = false } = options;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', noDelay: true });
    const responses: RawResponse[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    let written = false;
    let probed = false;
    const finish = (closed: boolean) => {
      clearTimeout(deadline);
      socket.destroy();
      resolve({ responses: responses.slice(0, count), closed });
    };
    const deadline = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `no answer or close within 5 s (${responses.length} of ${count}${probed ? ' and the probe' : ''}): ${buffer.toString('latin1').slice(0, 300)}`,
        ),
      );
    }, 5_000);
    // Whether the server keeps the connection, seen by an event rather than a wait: once every part
    // is written and every answer is in, the probe gets an answer (kept) or the connection closes.
    const probe = () => {
      if (probed || !written || responses.length < count || socket.destroyed) return;
      probed = true;
      socket.write(PROBE);
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (let next = parse(buffer, head); next; next = parse(buffer, head)) {
        responses.push(next.response);
        if (responses.length <= count) options.onResponse?.(next.response);
        buffer = next.rest;
      }
      if (responses.length > count) finish(false);
      else probe();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (responses.length >= count) finish(true);
      else {
        clearTimeout(deadline);
        reject(new Error(`closed after ${responses.length} of ${count} answers: ${buffer.toString('latin1').slice(0, 300)}`));
      }
    });
    socket.on('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (!socket.destroyed) socket.write(part);
      }
      written = true;
      probe();
    });
  });
}

/** A POST request's bytes with a JSON (by default) body and a Content-Length. */
export function postBytes(path: string, body: string, headers: Record<string, string> = {}): string {
  const fields = { host: 'x', 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers };
  const head = Object.entries(fields)
    .filter(([, value]) => value !== '')
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return `POST ${path} HTTP/1.1\r\n${head}\r\n${body}`;
}

/** The same body, chunked (no Content-Length), cut into chunks of `size` bytes. */
export function chunkedBytes(path: string, body: string, size: number, headers: Record<string, string> = {}): Buffer {
  const bytes = Buffer.from(body);
  const head = Object.entries({ host: 'x', 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  const parts = [Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n`)];
  for (let at = 0; at < bytes.length; at += size) {
    const piece = bytes.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}
