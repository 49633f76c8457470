import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MIGRATIONS } from './migrations.js';

export type Db = Database.Database;

export interface OpenOptions {
  /**
   * SQLite `synchronous` level (WAL mode). FULL, the default: a commit is on disk before the call
   * that made it answers, so an update answered `success: true` survives a crash of the process
   * (SIGKILL), of the OS and a power loss. NORMAL survives a crash of the process only: on power
   * loss the last commits may be lost (never a corrupt file), and a lost version number would be
   * given again to different settings. See docs/reliability.md for the measured cost.
   */
  readonly synchronous?: 'OFF' | 'NORMAL' | 'FULL';
}

/** Opens (creating the parent folder) and migrates the database. */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this trackconf (${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
