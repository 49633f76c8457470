import type { RunResult, SqlDb, SqlStatement, TransactionFunction } from '../sql.js';
import { PgError, type SyncPg } from './sync-pg.js';

/** `?` placeholders (SQLite's) as `$1, $2…` (PostgreSQL's), outside quoted text. */
export function numberedPlaceholders(sql: string): string {
  let n = 0;
  let quote: string | undefined;
  let out = '';
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      out += `$${++n}`;
      continue;
    }
    out += ch;
  }
  return out;
}

const MODIFYING = /^\s*(INSERT|UPDATE|DELETE)\b/i;

/**
 * A PostgreSQL connection with the API the repositories use (sql.ts): statements prepared once on
 * the server, transactions nested as savepoints the way better-sqlite3 nests them.
 */
export class PgDb implements SqlDb {
  private depth = 0;
  private names = 0;
  /** A statement failed inside the open transaction: PostgreSQL refuses the rest until a rollback. */
  private aborted = false;
  /** Rows changed by this connection's statements (Freshness compares it with what the store reported). */
  totalChanges = 0;

  constructor(readonly connection: SyncPg) {}

  get open(): boolean {
    return this.connection.failed === undefined;
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** A statement with no parameters and no rows wanted (schema, locks). */
  exec(sql: string): void {
    this.connection.query(sql);
  }

  query<R>(sql: string, params: readonly unknown[] = []): R[] {
    return this.connection.query<R>(numberedPlaceholders(sql), params).rows;
  }

  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): SqlStatement<P, R> {
    const text = numberedPlaceholders(sql);
    const name = `trackconf_${++this.names}`;
    const modifying = MODIFYING.test(sql);
    const run = (params: unknown[]) => {
      try {
        const result = this.connection.query<R>(text, params, name);
        if (modifying) this.totalChanges += result.rowCount;
        return result;
      } catch (err) {
        if (this.depth > 0) this.aborted = true;
        throw err;
      }
    };
    return {
      run: (...params: P): RunResult => ({ changes: run(params).rowCount }),
      get: (...params: P): R | undefined => run(params).rows[0],
      all: (...params: P): R[] => run(params).rows,
    };
  }

  transaction<A extends unknown[], T>(fn: (...args: A) => T): TransactionFunction<A, T> {
    const inTransaction = (...args: A): T => {
      const savepoint = this.depth > 0 ? `trackconf_${this.depth}` : undefined;
      this.connection.query(savepoint ? `SAVEPOINT ${savepoint}` : 'BEGIN');
      this.depth++;
      let result: T;
      try {
        result = fn(...args);
      } catch (err) {
        this.rollback(savepoint);
        throw err;
      }
      if (this.aborted) {
        // fn went on after a failed statement (better-sqlite3 would have kept the rest): nothing of it holds
        this.rollback(savepoint);
        throw new PgError('a statement of this transaction failed: it was rolled back', '25P02');
      }
      this.depth--;
      try {
        this.connection.query(savepoint ? `RELEASE SAVEPOINT ${savepoint}` : 'COMMIT');
      } catch (err) {
        if (!savepoint) this.end('ROLLBACK');
        throw err;
      }
      return result;
    };
    return Object.assign(inTransaction, { immediate: inTransaction });
  }

  close(): void {
    this.connection.close();
  }

  private rollback(savepoint: string | undefined): void {
    this.depth--;
    this.aborted = false;
    this.end(savepoint ? `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}` : 'ROLLBACK');
  }

  /** Ends a failed transaction or savepoint; a connection that cannot is reported by the next statement. */
  private end(sql: string): void {
    try {
      this.connection.query(sql);
    } catch {
      // the error that got here is the one worth reporting
    }
  }
}
