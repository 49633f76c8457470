/**
 * What the repositories need of a database connection: the part of better-sqlite3's API that the
 * PostgreSQL connection (pg/pg-db.ts) gives too, so one set of repositories serves both backends.
 */
export interface RunResult {
  readonly changes: number;
}

export interface SqlStatement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

/** `db.transaction(fn)`: calling it runs fn in a transaction (a savepoint when one is open). */
export interface TransactionFunction<A extends unknown[], T> {
  (...args: A): T;
  immediate(...args: A): T;
}

export interface SqlDb {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqlStatement<P, R>;
  transaction<A extends unknown[], T>(fn: (...args: A) => T): TransactionFunction<A, T>;
}
