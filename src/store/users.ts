import type { SqlDb as Db } from './sql.js';
import type { Freshness } from './freshness.js';
import type { Writes } from './writes.js';

export interface UserRow {
  readonly id: number;
  readonly login: string;
  readonly password_hash: string;
  readonly master_id: number | null;
  readonly rights: string;
}

interface SessionRow {
  readonly user_id: number;
  readonly last_used_at: number;
}

/** Users, sub-users, sessions and API keys. Secrets arrive here already digested. */
export class UserRepository {
  private readonly byLogin;
  private readonly byId;
  private readonly createdAtById;
  private readonly insertUser;
  private readonly updateUser;
  private readonly insertSession;
  private readonly sessionByDigest;
  private readonly touchSession;
  private readonly deleteSession;
  private readonly apiKeyOwner;
  private readonly insertApiKey;

  constructor(
    db: Db,
    private readonly writes: Writes,
    private readonly freshness: Freshness,
  ) {
    this.byLogin = db.prepare<[string], UserRow>('SELECT id, login, password_hash, master_id, rights FROM users WHERE login = ?');
    this.byId = db.prepare<[number], UserRow>('SELECT id, login, password_hash, master_id, rights FROM users WHERE id = ?');
    this.createdAtById = db.prepare<[number], { created_at: string }>('SELECT created_at FROM users WHERE id = ?');
    this.insertUser = db.prepare<[string, string, number | null, string, string], { id: number }>(
      'INSERT INTO users (login, password_hash, master_id, rights, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
    );
    this.updateUser = db.prepare<[string, number | null, string, number]>('UPDATE users SET password_hash = ?, master_id = ?, rights = ? WHERE id = ?');
    this.insertSession = db.prepare<[Buffer, number, number, number]>('INSERT INTO sessions (digest, user_id, created_at, last_used_at) VALUES (?, ?, ?, ?)');
    this.sessionByDigest = db.prepare<[Buffer], SessionRow>('SELECT user_id, last_used_at FROM sessions WHERE digest = ?');
    this.touchSession = db.prepare<[number, Buffer]>('UPDATE sessions SET last_used_at = ? WHERE digest = ?');
    this.deleteSession = db.prepare<[Buffer]>('DELETE FROM sessions WHERE digest = ?');
    this.apiKeyOwner = db.prepare<[Buffer], { user_id: number }>('SELECT user_id FROM api_keys WHERE digest = ?');
    this.insertApiKey = db.prepare<[Buffer, number, number]>(
      'INSERT INTO api_keys (digest, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING',
    );
  }

  findByLogin(login: string): UserRow | undefined {
    return this.byLogin.get(login);
  }

  findById(id: number): UserRow | undefined {
    return this.byId.get(id);
  }

  /** When the user was created (ISO-8601, UTC). */
  createdAt(id: number): string | undefined {
    return this.createdAtById.get(id)?.created_at;
  }

  /** Inserts or updates by login; returns the user's id. */
  upsert(login: string, passwordHash: string, masterId: number | null, rights: readonly string[]): number {
    const existing = this.byLogin.get(login);
    const rightsJson = JSON.stringify([...rights].sort());
    if (existing) {
      this.writes.run(this.updateUser, passwordHash, masterId, rightsJson, existing.id);
      return existing.id;
    }
    return this.writes.get(this.insertUser, login, passwordHash, masterId, rightsJson, new Date().toISOString())!.id;
  }

  createSession(digest: Buffer, userId: number, now: number): void {
    this.freshness.own(this.writes.run(this.insertSession, digest, userId, now, now).changes);
  }

  findSession(digest: Buffer): SessionRow | undefined {
    return this.sessionByDigest.get(digest);
  }

  /** Callers that cache the session update their copy of last_used_at themselves. */
  touch(digest: Buffer, now: number): void {
    this.freshness.own(this.writes.run(this.touchSession, now, digest).changes);
  }

  /** Not reported as the store's own write: every cached credential is dropped (logout is rare). */
  endSession(digest: Buffer): void {
    this.writes.run(this.deleteSession, digest);
    this.freshness.recheck();
  }

  findApiKeyOwner(digest: Buffer): number | undefined {
    return this.apiKeyOwner.get(digest)?.user_id;
  }

  addApiKey(digest: Buffer, userId: number, now: number): void {
    this.writes.run(this.insertApiKey, digest, userId, now);
  }
}
