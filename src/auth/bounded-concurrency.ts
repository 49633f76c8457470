/**
 * At most `limit` tasks run at once, at most `maxQueued` wait for their turn; past that a task is
 * refused at once. Password checks run scrypt on libuv's thread pool (and take a core each): without
 * a bound, a flood of unauthenticated logins holds the pool and the CPU for everyone
 * (docs/api.md#limits).
 */
export class BoundedConcurrency {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueued: number,
  ) {}

  /** Runs `task` when a slot is free; undefined (task not run) when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> | undefined {
    if (this.running < this.limit) return this.start(task);
    if (this.queue.length >= this.maxQueued) return undefined;
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => this.start(task).then(resolve, reject));
    });
  }

  private async start<T>(task: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }
}
