import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Test } from 'tap';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { tempDir } from './server.js';

/**
 * A database file as a trackconf of schema `schema` left it (the first `schema` migrations, each
 * recorded in user_version), foreign keys on, closed when the test ends.
 */
export function databaseAtSchema(t: Test, schema: number): Database.Database {
  const db = new Database(join(tempDir(t), 'old.db'));
  t.teardown(() => db.close());
  db.pragma('foreign_keys = ON');
  for (const [i, sql] of MIGRATIONS.slice(0, schema).entries()) {
    db.exec(sql);
    db.pragma(`user_version = ${i + 1}`);
  }
  return db;
}

/** User 1 and the telfm model: what any device row needs first (in every schema so far). */
export function seedUserAndModel(db: Database.Database): void {
  db.exec(`INSERT INTO users (id, login, password_hash, created_at) VALUES (1, 'a@example.com', 'x', 'now');
           INSERT INTO models (code, tracking_profile, source) VALUES ('telfm', 'telfm', 'config');`);
}
