import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread with its own connection.
 *
 * SQLite checkpoints from the connection that commits, inside its COMMIT, whenever the WAL passed
 * `wal_autocheckpoint` pages: it copies the pages into the database file and fsyncs the WAL and the
 * database, while the event loop waits. Under a stream of updates that is several stalls of
 * milliseconds per second, each one the tail latency of every request that arrives meanwhile. Here a
 * worker runs a PASSIVE checkpoint (never waits for a lock, never blocks a writer) on a timer, and the
 * service's connection checkpoints only as a backstop when the WAL grew far beyond that.
 *
 * The worker is plain JavaScript evaluated from a string (it needs no file of its own, compiled or
 * not) and finds better-sqlite3 through the path resolved here.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
// Lowest scheduling priority for this thread only (Linux: a thread id is a pid for setpriority), so
// that on a busy core the checkpoint takes idle time instead of half of the event loop's.
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) require('node:os').setPriority(tid, 19);
} catch {}
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
const checkpoint = () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ checkpointed: result.checkpointed, log: result.log, busy: result.busy });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'now') return checkpoint();
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export interface CheckpointResult {
  /** WAL frames in the log and how many of them are now in the database file (PASSIVE). */
  readonly log?: number;
  readonly checkpointed?: number;
  readonly busy?: number;
  readonly error?: string;
}

/** The pages the committing connection may let the WAL grow to before it checkpoints itself. */
export const BACKSTOP_PAGES = 20_000;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(file: string, intervalMs: number, onResult: (result: CheckpointResult) => void = () => undefined) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, sqlite, intervalMs } });
    this.worker.on('message', onResult);
    this.worker.on('error', (err) => onResult({ error: err.message }));
    this.worker.unref(); // never what keeps the process alive
  }

  /** A checkpoint now (tests). */
  now(): void {
    this.worker.postMessage('now');
  }

  /** Stops the timer and closes the worker's connection (without waiting for it). */
  close(): void {
    this.worker.postMessage('stop');
  }
}
