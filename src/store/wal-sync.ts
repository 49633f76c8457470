import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';

/** The WAL could not be flushed: answered as a database error (1), and /health answers 503 from then on. */
export class DurabilityError extends Error {
  override name = 'DurabilityError';
}

/** `fs.fsync`'s shape: tests hold the callback to see what waits for the disk. */
export type Fsync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

/**
 * Durability of commits without blocking the event loop on the disk.
 *
 * Under `synchronous=FULL` SQLite fsyncs the WAL inside every COMMIT, on the thread that commits: the
 * event loop stops for the whole disk flush (half of the update workload's time in the benchmark).
 * The service instead runs SQLite at `synchronous=NORMAL` (a commit appends its frames to the WAL and
 * returns; SQLite still syncs the WAL before each checkpoint and the header when the WAL is reused, so
 * the file stays consistent) and flushes the WAL itself, off the event loop (on a thread of its own by
default: src/store/fsync-thread.ts). One
 * flush covers every commit made before it started, so commits arriving meanwhile share the next one.
 *
 * The guarantee of FULL is kept by the gate: nothing computed from the database leaves the process
 * (an HTTP answer, a config published to a tracker) before `durable()` has settled, i.e. before every
 * commit made until then is on disk. A power loss can lose only commits nobody was told about.
 *
 * The WAL file is opened once and kept: SQLite deletes it only when the last connection closes, and
 * the service's own connection stays open until `close()`.
 */
export class WalSync {
  /** The write count (writes.ts) the last finished flush covered. */
  private synced = 0;
  private flushing = false;
  private fd: number | undefined;
  private closed = false;
  /**
   * After a failed flush the kernel may have dropped the dirty pages and report the next flush as a
   * success: nothing written since can be promised durable, so every later call fails too (until a
   * restart reads back what the disk really holds).
   */
  private failure: Error | undefined;
  private waiters: Array<{ generation: number; resolve: () => void; reject: (err: Error) => void }> = [];

  private startDeferred = false;

  /**
   * `writes`: the count of writes made so far (the store's `Writes`), bumped by every write.
   * `inTransaction`: a flush must not start while a transaction is open (the thread pool could flush
   * before the COMMIT writes its frames, and the flush would be taken to cover them).
   */
  constructor(
    private readonly walFile: string,
    private readonly writes: { readonly count: number },
    private readonly flush: Fsync = fsync,
    private readonly inTransaction: () => boolean = () => false,
  ) {}

  /** Set for good once a flush failed: nothing can be promised durable any more (until a restart). */
  get failed(): Error | undefined {
    return this.failure;
  }

  private get generation(): number {
    return this.writes.count;
  }

  /**
   * undefined when every commit so far (or up to write `upTo`) is on disk; else settles once it is
   * (rejects if the flush failed).
   */
  durable(upTo = this.generation): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.synced >= upTo) return undefined;
    const generation = upTo;
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ generation, resolve, reject });
      this.start();
    });
  }

  private start(): void {
    if (this.flushing || this.startDeferred) return;
    if (this.inTransaction()) {
      this.startDeferred = true;
      setImmediate(() => {
        this.startDeferred = false;
        this.start();
      });
      return;
    }
    const covers = this.generation;
    let fd: number;
    try {
      fd = this.fd ??= openSync(this.walFile, 'r');
    } catch (err) {
      return this.finish(covers, err as Error);
    }
    this.flushing = true;
    this.flush(fd, (err) => {
      this.flushing = false;
      if (this.closed) return closeSync(fd); // close() flushed synchronously and left the fd to us
      this.finish(covers, err);
    });
  }

  private finish(covers: number, err: Error | null): void {
    if (err) {
      this.failure ??= new DurabilityError(`fsync of ${this.walFile} failed: ${err.message}`, { cause: err });
      const waiting = this.waiters;
      this.waiters = [];
      for (const waiter of waiting) waiter.reject(this.failure);
      return;
    }
    this.synced = Math.max(this.synced, covers);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.generation <= covers) waiter.resolve();
      else this.waiters.push(waiter);
    }
    if (this.waiters.length > 0) this.start();
  }

  /** Flushes what is left, synchronously, and closes the WAL (before the database closes). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.fd === undefined) return;
    if (this.synced !== this.generation) fsyncSync(this.fd);
    this.synced = this.generation;
    if (!this.flushing) closeSync(this.fd);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) waiter.resolve();
  }
}
