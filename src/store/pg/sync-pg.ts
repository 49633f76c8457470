import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { Reply, Request } from './bridge-worker.js';

/** A PostgreSQL error with its SQLSTATE (`code`), e.g. 23505 for a unique violation. */
export class PgError extends Error {
  override name = 'PgError';
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface QueryResult<R> {
  readonly rows: R[];
  readonly rowCount: number;
}

/**
 * A blocking PostgreSQL connection: each query runs on a worker thread (bridge-worker.ts) while this
 * thread waits on a shared flag. It keeps the store's contract synchronous, as better-sqlite3's is:
 * the event loop is held for a query's round trip the way it is for a SQLite page read, and the
 * business rules run unchanged on either backend (docs/scaling.md#postgresql).
 */
export class SyncPg {
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private closed = false;
  /** Why the connection cannot be used any more (a query that never answered); undefined while usable. */
  failed: string | undefined;
  /** The server process of this connection (its own notifications are not news to it). */
  backendPid = 0;

  /**
   * Starts the thread and waits, without blocking, until it is connected: a thread's first moments
   * (loading its modules) may need this one's event loop, which a blocking wait would hold.
   */
  static async open(url: string, applicationName: string, timeoutMs = 20_000): Promise<SyncPg> {
    const connection = new SyncPg(url, applicationName, timeoutMs);
    const reply = await new Promise<Reply>((resolve, reject) => {
      connection.worker.once('error', reject);
      connection.port.once('message', (message: Reply) => resolve(message));
      connection.port.postMessage({ sql: 'SELECT 1' } satisfies Request);
    }).catch((err: Error) => ({ error: { message: err.message } }) as Reply);
    if ('error' in reply) {
      connection.closed = true;
      void connection.worker.terminate();
      throw new PgError(reply.error.message, reply.error.code);
    }
    connection.backendPid = reply.pid;
    // from here on, answers are taken with receiveMessageOnPort
    connection.port.removeAllListeners('message');
    connection.port.unref();
    return connection;
  }

  private constructor(
    url: string,
    applicationName: string,
    private readonly timeoutMs: number,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./bridge-worker.js', import.meta.url), {
      workerData: { url, flag: this.flag, port: port2, applicationName },
      transferList: [port2],
    });
    this.worker.unref();
    this.worker.on('error', () => undefined); // surfaces as the next query's timeout
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], name?: string): QueryResult<R> {
    const reply = this.call({ sql, ...(params && params.length > 0 && { params }), ...(name && { name }) });
    if ('error' in reply) throw new PgError(reply.error.message, reply.error.code, reply.error.detail);
    this.backendPid = reply.pid;
    if (reply.bytea) {
      for (const row of reply.rows as Array<Record<string, unknown>>) {
        for (const column of reply.bytea) {
          const value = row[column];
          if (value instanceof Uint8Array) row[column] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
        }
      }
    }
    return reply as QueryResult<R>;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.call('close');
    } catch {
      // the thread is gone already
    }
    void this.worker.terminate();
  }

  private call(request: Request | 'close'): Reply {
    if (request !== 'close' && (this.closed || this.failed)) throw new PgError(this.failed ?? 'the database connection is closed', undefined);
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage(request);
    const deadline = performance.now() + this.timeoutMs;
    let received = receiveMessageOnPort(this.port);
    // a raised flag may be a late one of the answer before (raised after its message was taken): wait again
    while (!received) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.flag, 0, 0, left) === 'timed-out') {
        // its answer may still come and would be read as the next one's: this connection is done
        this.failed = `PostgreSQL did not answer within ${this.timeoutMs} ms: restart the service`;
        throw new PgError(this.failed, undefined);
      }
      Atomics.store(this.flag, 0, 0);
      received = receiveMessageOnPort(this.port);
    }
    return received.message as Reply;
  }
}
