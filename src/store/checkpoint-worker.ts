/**
 * The checkpoint worker (see checkpointer.ts): its own connection, a PASSIVE checkpoint every
 * `intervalMs`, a report when asked (`now`) and the first error of a run of failures.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** What the thread that starts the worker passes it. */
export interface CheckpointWorkerData {
  readonly file: string;
  readonly intervalMs: number;
  readonly restartFrames: number;
}

interface CheckpointRow {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

if (!parentPort) throw new Error('checkpoint-worker.js runs as a worker thread only');
const port = parentPort;
const { file, intervalMs, restartFrames } = workerData as CheckpointWorkerData;

// Lowest scheduling priority for this thread only (Linux: a thread id is a pid for setpriority), so
// that on a busy core the checkpoint takes idle time instead of half of the event loop's.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) setPriority(tid, 19);
} catch {
  // not Linux: the default priority
}

const db = new Database(file, { fileMustExist: true });
db.pragma('busy_timeout = 0');
let failing = false;

function checkpoint(report: boolean): void {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointRow[];
    failing = false;
    if (!result) return;
    if (report) port.postMessage({ checkpointed: result.checkpointed, log: result.log, busy: result.busy });
    else if (result.busy === 0 && result.log >= restartFrames) port.postMessage({ tail: true });
  } catch (err) {
    if (!failing || report) port.postMessage({ error: (err as Error).message ?? String(err) });
    failing = true;
  }
}

const timer = setInterval(checkpoint, intervalMs, false);
port.on('message', (message: unknown) => {
  if (message === 'now') return checkpoint(true);
  clearInterval(timer);
  db.close();
  port.close();
});
