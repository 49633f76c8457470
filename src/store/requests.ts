import type { SqlDb as Db } from './sql.js';
import type { Writes } from './writes.js';
import type { Freshness } from './freshness.js';

/** A remembered answer of a call made with a `request_id` (docs/api.md#idempotent-retries-request_id). */
export interface RequestAnswerRow {
  /** Digest of the call and its parameters: the same id with other parameters is refused. */
  readonly params: Buffer;
  /** The answer's fields as JSON text. */
  readonly answer: string;
  /** Epoch milliseconds. */
  readonly created_at: number;
}

/** Answers of calls with a `request_id`, per user, written in the same transaction as what they made. */
export class RequestRepository {
  private readonly findStmt;
  private readonly saveStmt;
  private readonly purgeStmt;

  constructor(
    db: Db,
    private readonly freshness: Freshness,
    private readonly writes: Writes,
  ) {
    this.findStmt = db.prepare<[number, string], RequestAnswerRow>(
      'SELECT params, answer, created_at FROM request_answers WHERE user_id = ? AND request_id = ?',
    );
    this.saveStmt = db.prepare<[number, string, Buffer, string, number]>(
      `INSERT INTO request_answers (user_id, request_id, params, answer, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (user_id, request_id) DO UPDATE SET params = excluded.params, answer = excluded.answer,
         created_at = excluded.created_at`,
    );
    this.purgeStmt = db.prepare<[number]>('DELETE FROM request_answers WHERE created_at < ?');
  }

  find(userId: number, requestId: string): RequestAnswerRow | undefined {
    return this.findStmt.get(userId, requestId);
  }

  /** Stores (or replaces an expired) answer. Call inside the transaction of the call's writes. */
  save(userId: number, requestId: string, params: Buffer, answer: string, createdAt: number): void {
    this.freshness.own(this.writes.run(this.saveStmt, userId, requestId, params, answer, createdAt).changes);
  }

  /** Deletes answers created before `before` (epoch ms). */
  purge(before: number): void {
    this.freshness.own(this.writes.run(this.purgeStmt, before).changes);
  }
}
