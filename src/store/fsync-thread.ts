import { Worker } from 'node:worker_threads';
import type { Fsync } from './wal-sync.js';

/**
 * The WAL's fsync on a thread of its own. `fs.fsync` runs on libuv's thread pool, which password
 * checks (scrypt) and other fs calls share: behind a flood of logins, every answer waiting for its
 * flush waited for hundreds of scrypts first (docs/reliability.md#7-hostile-clients). File descriptors
 * belong to the process, so the worker flushes the descriptor the service opened.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { fsyncSync } = require('node:fs');
parentPort.on('message', (message) => {
  if (message === 'stop') return parentPort.close();
  try {
    fsyncSync(message.fd);
    parentPort.postMessage({ id: message.id });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: { message: String(err && err.message || err), code: err && err.code } });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly error?: { message: string; code?: string };
}

export class FsyncThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (err: NodeJS.ErrnoException | null) => void>();
  private nextId = 0;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(WORKER, { eval: true });
    this.worker.on('message', ({ id, error }: Reply) => {
      const done = this.pending.get(id);
      this.pending.delete(id);
      done?.(error ? Object.assign(new Error(error.message), { code: error.code }) : null);
    });
    // A worker that dies fails what it was asked (and everything after): never a flush taken as done.
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', () => this.fail(new Error('the fsync thread exited')));
    this.worker.unref(); // never what keeps the process alive
  }

  readonly fsync: Fsync = (fd, done) => {
    if (this.failure) return queueMicrotask(() => done(this.failure as NodeJS.ErrnoException));
    const id = this.nextId++;
    this.pending.set(id, done);
    this.worker.postMessage({ id, fd });
  };

  private fail(err: Error): void {
    this.failure ??= err;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const done of waiting) done(this.failure);
  }

  /** Lets the worker finish what it was asked, then end (without waiting for it). */
  close(): void {
    this.worker.postMessage('stop');
  }
}
