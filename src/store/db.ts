import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
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
  /**
   * With FULL: run SQLite at NORMAL and let the caller flush the WAL off the event loop before
   * anything leaves the process (see wal-sync.ts), and checkpoint on a worker thread
   * (checkpointer.ts). Only for a long-running process that keeps its connection open (the service),
   * never for a CLI command that exits right after its commit.
   */
  readonly flushWalOffThread?: boolean;
  /** How often the worker checkpoints (flushWalOffThread only); 100 ms unless given. */
  readonly checkpointIntervalMs?: number;
}

/** Opens (creating the parent folder) and migrates the database. */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  if (file !== ':memory:') makeParentFolders(resolve(file));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  const synchronous = options.synchronous ?? 'FULL';
  db.pragma(`synchronous = ${synchronous === 'FULL' && walFlushedByCaller(db, options) ? 'NORMAL' : synchronous}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/**
 * Creates the missing folders above `file` one by one from the nearest existing one. Not
 * `mkdirSync(…, { recursive: true })`: under /proc it never returns (it retries ENOENT forever).
 * Throws the first system error (ENOTDIR, EACCES, ENOENT…) with its path.
 */
function makeParentFolders(file: string): void {
  const missing: string[] = [];
  let dir = dirname(file);
  while (!existsAsFolder(dir)) {
    missing.unshift(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const folder of missing) mkdirSync(folder);
}

/** true for a folder, false when nothing is there; a file in the way throws ENOTDIR. */
function existsAsFolder(path: string): boolean {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return false;
  if (stat.isDirectory()) return true;
  throw Object.assign(new Error(`ENOTDIR: not a directory, ${path}`), { code: 'ENOTDIR', path });
}

/** Whether the caller flushes the WAL itself: asked for, and the database really is in WAL mode. */
export function walFlushedByCaller(db: Db, options: OpenOptions): boolean {
  return (
    (options.flushWalOffThread ?? false) && (options.synchronous ?? 'FULL') === 'FULL' && !db.memory && db.pragma('journal_mode', { simple: true }) === 'wal'
  );
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
