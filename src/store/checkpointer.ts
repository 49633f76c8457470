import { Worker } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpoint-worker.js';

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
 * The worker is its own module (checkpoint-worker.ts), loaded by URL beside this one: the compiled
 * .js under dist/, the .ts itself when this module runs from src/ under a TypeScript loader (tap),
 * which a worker inherits with the parent's execArgv. It reports a checkpoint only when asked (`now`)
 * and the first error of a run of failures.
 */

/** checkpoint-worker.js beside this module (dist/), or checkpoint-worker.ts when running from src/. */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './checkpoint-worker.ts' : './checkpoint-worker.js', import.meta.url);

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
    const workerData: CheckpointWorkerData = { file, intervalMs, restartFrames: RESTART_FRAMES };
    this.worker = new Worker(WORKER_URL, { workerData });
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
