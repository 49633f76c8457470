import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread with its own connection.
 *
 * SQLite checkpoints from the connection that commits, inside its COMMIT, whenever the WAL passed
 * `wal_autocheckpoint` pages (1,000): it copies the pages into the database file and fsyncs the WAL
 * and the database, while the event loop waits. Under a stream of updates that is many stalls of a
 * millisecond or more per second, each one the tail latency of every request arriving meanwhile.
 *
 * Here a worker runs a PASSIVE checkpoint (never waits for a lock, never blocks a writer) every
 * 100 ms: a page rewritten many times within that window (a device's sync row) is copied once. The
 * worker cannot restart the WAL: a WAL restarts from its beginning only after a checkpoint that
 * caught up with the latest commit, and with commits every millisecond the worker never does (seen
 * in a full bench run with the worker alone on a 500 ms timer: the WAL grew to 89 MB, and at 5,000
 * updates/s delivery p99 was 93 ms against a p50 of 1.9 ms). So once the WAL holds RESTART_FRAMES,
 * the worker tells the service's connection, which checkpoints the few frames committed since the
 * worker's pass (a millisecond at most) and the next write restarts the WAL. Copying every 10 ms
 * instead, with SQLite's automatic checkpoint at 1,000 pages, cut that p99 to 27 ms but copied most
 * pages several times: 23% fewer updates per second. SQLite's automatic checkpoint stays on at
 * BACKSTOP_PAGES for when the worker, at the lowest priority, gets no CPU (a saturated core).
 *
 * The worker is plain JavaScript evaluated from a string (it needs no file of its own, compiled or
 * not) and finds better-sqlite3 through the path resolved here. It reports a checkpoint only when
 * asked (`now`) and the first error of a run of failures.
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
let failing = false;
const checkpoint = (report) => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
    if (report) parentPort.postMessage({ checkpointed: result.checkpointed, log: result.log, busy: result.busy });
    else if (result.busy === 0 && result.log >= workerData.restartFrames) parentPort.postMessage({ tail: true });
  } catch (err) {
    if (!failing || report) parentPort.postMessage({ error: String(err && err.message || err) });
    failing = true;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs, false);
parentPort.on('message', (message) => {
  if (message === 'now') return checkpoint(true);
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** The WAL length (frames) at which the service's own connection is asked to finish the checkpoint. */
export const RESTART_FRAMES = 4000;
/** The automatic checkpoint of the service's connection: only if the worker falls far behind. */
export const BACKSTOP_PAGES = 20_000;

export interface CheckpointResult {
  /** WAL frames in the log and how many of them are now in the database file (PASSIVE). */
  readonly log?: number;
  readonly checkpointed?: number;
  readonly busy?: number;
  readonly error?: string;
  /**
   * From the worker: it copied a WAL of RESTART_FRAMES or more, the committing connection should
   * finish it. Passed on to `onCheckpoint` with that connection's own checkpoint result.
   */
  readonly tail?: true;
}

export class Checkpointer {
  private readonly worker: Worker;

  constructor(file: string, intervalMs: number, onResult: (result: CheckpointResult) => void = () => undefined) {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER, { eval: true, workerData: { file, sqlite, intervalMs, restartFrames: RESTART_FRAMES } });
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
