import { Worker } from 'node:worker_threads';
import type { ScryptOptions } from 'node:crypto';

/** scrypt's shape as verifyPassword uses it (src/auth/crypto.ts). */
export type DeriveKey = (password: string, salt: Buffer, keylen: number, options: ScryptOptions) => Promise<Buffer>;

/**
 * Password checks on threads of their own at the lowest scheduling priority. scrypt takes a core for
 * tens of milliseconds: on libuv's thread pool at normal priority a flood of bad logins took the
 * cores from the event loop and the pool from the WAL flush (docs/reliability.md#7-hostile-clients).
 * Here, on a busy machine, logins get the CPU the API leaves. Each thread checks one password at a
 * time; BoundedConcurrency in the AuthService keeps at most as many running as there are threads.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
// Linux: a thread id is a pid for setpriority, so only this thread is lowered.
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 19);
} catch {}
parentPort.on('message', (message) => {
  if (message === 'stop') return parentPort.close();
  try {
    const key = scryptSync(message.password, Buffer.from(message.salt), message.keylen, message.options);
    parentPort.postMessage({ id: message.id, key });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: String((err && err.message) || err) });
  }
});
`;

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (key: Buffer) => void; reject: (err: Error) => void }>;
}

export class ScryptThreads {
  private readonly threads: Thread[];
  private nextId = 0;

  constructor(count: number) {
    this.threads = Array.from({ length: Math.max(1, count) }, () => this.spawn());
  }

  private spawn(): Thread {
    const thread: Thread = { worker: new Worker(WORKER, { eval: true }), pending: new Map() };
    thread.worker.on('message', ({ id, key, error }: { id: number; key?: Uint8Array; error?: string }) => {
      const waiter = thread.pending.get(id);
      thread.pending.delete(id);
      if (!waiter) return;
      if (key) waiter.resolve(Buffer.from(key.buffer, key.byteOffset, key.byteLength));
      else waiter.reject(new Error(error ?? 'scrypt failed'));
    });
    const fail = (err: Error) => {
      for (const waiter of thread.pending.values()) waiter.reject(err);
      thread.pending.clear();
    };
    thread.worker.on('error', fail);
    thread.worker.on('exit', () => fail(new Error('the password check thread exited')));
    thread.worker.unref(); // never what keeps the process alive
    return thread;
  }

  readonly derive: DeriveKey = (password, salt, keylen, options) => {
    const thread = this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, password, salt, keylen, options: { ...options, maxmem: 64 * 1024 * 1024 } });
    });
  };

  close(): void {
    for (const thread of this.threads) thread.worker.postMessage('stop');
  }
}
