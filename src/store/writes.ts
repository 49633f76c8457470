import type { RunResult, SqlStatement } from './sql.js';

/**
 * The one path every repository write takes. It counts modifying statements, and that count is what
 * the WAL gate (wal-sync.ts, `Store.durable()`) waits to see on disk: a write that bypassed it would
 * leave the process before its flush. test/store/writes.test.ts fails when a repository runs a
 * modifying statement any other way.
 *
 * The count goes up before the statement runs: one that fails or rolls back costs at most a flush.
 */
export class Writes {
  private generation = 0;

  /** Modifying statements run so far. */
  get count(): number {
    return this.generation;
  }

  run<P extends unknown[]>(statement: SqlStatement<P>, ...params: P): RunResult {
    this.generation++;
    return statement.run(...params);
  }

  /** A modifying statement with RETURNING. */
  get<P extends unknown[], R>(statement: SqlStatement<P, R>, ...params: P): R | undefined {
    this.generation++;
    return statement.get(...params);
  }
}
