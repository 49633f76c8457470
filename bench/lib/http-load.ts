import { connect, type Socket } from 'node:net';
import { Samples, nowUs } from './stats.js';

/**
 * A minimal HTTP/1.1 keep-alive client over `net`, in the spirit of autocannon: requests are
 * prebuilt byte strings, responses are framed by Content-Length and only the status line is parsed
 * unless the caller wants the body. It costs the load core far less than `http.request`, so the
 * server under test (not the load generator) is what saturates.
 */
export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly body: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

export function encodeRequest(port: number, req: HttpRequest): Buffer {
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  const head =
    `${req.method} ${req.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n` +
    (body ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') +
    '\r\n';
  return body ? Buffer.concat([Buffer.from(head), body]) : Buffer.from(head);
}

/** One keep-alive connection answering one request at a time. */
export class HttpConnection {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: ((res: HttpResponse | Error) => void) | undefined;
  private readonly ready: Promise<void>;
  closed = false;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk) => this.onData(chunk));
    const fail = (err: Error) => {
      this.closed = true;
      const pending = this.pending;
      this.pending = undefined;
      pending?.(err);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('connection closed')));
  }

  open(): Promise<void> {
    return this.ready;
  }

  send(request: Buffer): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('connection closed'));
      this.pending = (res) => (res instanceof Error ? reject(res) : resolve(res));
      this.socket.write(request);
    });
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headEnd = this.buffer.indexOf(CRLFCRLF);
    if (headEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headEnd);
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!match) {
      this.pending?.(new Error('response without content-length'));
      this.close();
      return;
    }
    const total = headEnd + 4 + Number(match[1]);
    if (this.buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    const body = this.buffer.subarray(headEnd + 4, total);
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : Buffer.alloc(0);
    const pending = this.pending;
    this.pending = undefined;
    pending?.({ status, body });
  }
}

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly elapsed_s: number;
  readonly req_per_s: number;
  readonly latency: ReturnType<Samples['summary']>;
}

export async function openConnections(port: number, count: number): Promise<HttpConnection[]> {
  const conns = Array.from({ length: count }, () => new HttpConnection(port));
  await Promise.all(conns.map((c) => c.open()));
  return conns;
}

/**
 * Closed loop: each connection sends its next request as soon as the previous answer arrived, for
 * `durationMs` (after `warmupMs` not counted). `next()` builds each request; `onResponse` sees each
 * answer with its send time (µs) and returns false for a failure.
 */
export async function closedLoop(options: {
  port: number;
  connections: number;
  durationMs: number;
  warmupMs?: number;
  next: () => { bytes: Buffer; tag?: unknown };
  onResponse?: (res: HttpResponse, sentUs: number, tag: unknown) => boolean;
  /** Ends the run early (before `next` is called again) when it returns true. */
  stopWhen?: () => boolean;
}): Promise<LoadResult> {
  const conns = await openConnections(options.port, options.connections);
  const samples = new Samples();
  let requests = 0,
    ok = 0,
    errors = 0,
    non2xx = 0;
  let measuring = false;
  let stop = false;
  const warmup = options.warmupMs ?? 0;
  const loops = conns.map(async (conn) => {
    while (!stop && !conn.closed && !(options.stopWhen?.() ?? false)) {
      const { bytes, tag } = options.next();
      const sent = nowUs();
      const counted = measuring;
      try {
        const res = await conn.send(bytes);
        const good = res.status >= 200 && res.status < 300 && (options.onResponse?.(res, sent, tag) ?? true);
        if (counted && measuring) {
          requests++;
          samples.add(nowUs() - sent);
          if (res.status < 200 || res.status >= 300) non2xx++;
          if (good) ok++;
        }
      } catch {
        if (counted && measuring) errors++;
      }
    }
  });
  const allDone = Promise.all(loops);
  const wait = (millis: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, millis);
      void allDone.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  await wait(warmup);
  measuring = true;
  const start = nowUs();
  await wait(options.durationMs);
  measuring = false;
  const elapsed = (nowUs() - start) / 1e6;
  stop = true;
  await Promise.all(loops);
  for (const c of conns) c.close();
  return { requests, ok, errors, non2xx, elapsed_s: elapsed, req_per_s: requests / elapsed, latency: samples.summary() };
}

/**
 * Open loop at `rate` requests/s, spread over up to `connections` keep-alive connections: a request
 * whose slot comes while every connection is busy waits for one (that wait counts in its latency,
 * measured from its scheduled start: no coordinated omission).
 */
export async function pacedLoop(options: {
  port: number;
  connections: number;
  rate: number;
  durationMs: number;
  next: () => { bytes: Buffer; tag?: unknown };
  onResponse?: (res: HttpResponse, scheduledUs: number, tag: unknown) => boolean;
  /** No request is sent once this much time has passed since the start (a target far slower than `rate`); those left count as `unsent`. */
  stopAfterMs?: number;
}): Promise<LoadResult & { late_starts: number; unsent: number }> {
  const conns = await openConnections(options.port, options.connections);
  const idle = [...conns];
  const waiting: Array<() => void> = [];
  const samples = new Samples();
  let requests = 0,
    ok = 0,
    errors = 0,
    non2xx = 0,
    lateStarts = 0;
  const inflight = new Set<Promise<void>>();
  const start = nowUs();
  const total = Math.round((options.rate * options.durationMs) / 1000);
  const interval = 1e6 / options.rate;

  /**
   * The least recently used idle connection (FIFO, so every connection keeps being used and none
   * sits idle into the server's keep-alive or header timeout); one the server closed anyway is
   * replaced by a new connection.
   */
  const acquire = async (): Promise<HttpConnection> => {
    let conn = idle.shift();
    if (!conn) {
      lateStarts++;
      await new Promise<void>((resolve) => waiting.push(resolve));
      conn = idle.shift()!;
    }
    if (conn.closed) {
      conn = new HttpConnection(options.port);
      conns.push(conn);
      await conn.open();
    }
    return conn;
  };

  const giveUpAt = options.stopAfterMs === undefined ? Infinity : start + options.stopAfterMs * 1000;
  let unsent = 0;
  const fire = async (scheduled: number) => {
    const conn = await acquire();
    if (nowUs() > giveUpAt) {
      unsent++;
      idle.push(conn);
      waiting.shift()?.();
      return;
    }
    const { bytes, tag } = options.next();
    try {
      const res = await conn.send(bytes);
      requests++;
      samples.add(nowUs() - scheduled);
      if (res.status < 200 || res.status >= 300) non2xx++;
      else if (options.onResponse?.(res, scheduled, tag) ?? true) ok++;
    } catch {
      errors++;
    }
    idle.push(conn);
    waiting.shift()?.();
  };

  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowUs();
      const due = Math.min(total, Math.floor((now - start) / interval) + 1);
      while (sent < due) {
        const scheduled = start + sent * interval;
        const p = fire(scheduled).finally(() => inflight.delete(p));
        inflight.add(p);
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  const elapsed = (nowUs() - start) / 1e6;
  for (const c of conns) c.close();
  return {
    requests,
    ok,
    errors,
    non2xx,
    elapsed_s: elapsed,
    req_per_s: requests / elapsed,
    latency: samples.summary(),
    late_starts: lateStarts,
    unsent,
  };
}
