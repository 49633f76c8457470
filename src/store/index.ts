import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { openDatabase, walFlushedByCaller, type Db, type OpenOptions } from './db.js';
import { DataVersionFreshness, type Freshness } from './freshness.js';
import { GroupRepository } from './groups.js';
import { ProvisioningRepository } from './provisioning.js';
import { RequestRepository } from './requests.js';
import { SettingsRepository } from './settings.js';
import { TrackerRepository } from './trackers.js';
import { UserRepository } from './users.js';
import type { SqlDb } from './sql.js';
import { WalSync, type Fsync } from './wal-sync.js';
import { FsyncThread } from './fsync-thread.js';
import { Writes } from './writes.js';
import { BACKSTOP_PAGES, Checkpointer, type CheckpointResult } from './checkpointer.js';

export type { Db } from './db.js';
export type { SqlDb } from './sql.js';
export type { Freshness } from './freshness.js';
export type { SyncRow, SyncState, LatestConfigRow, TrackerSyncRow, VersionRow, VersionSource } from './settings.js';
export type { RequestAnswerRow } from './requests.js';
export type { TrackerRow, DeviceRow } from './trackers.js';
export type { UserRow } from './users.js';
export type { GroupRow } from './groups.js';

/** The database and its repositories, built once by the composition root. */
export interface Store {
  /** Which engine holds the data: SQLite (one process) or PostgreSQL (docs/scaling.md). */
  readonly backend: 'sqlite' | 'postgres';
  readonly db: SqlDb;
  readonly users: UserRepository;
  readonly trackers: TrackerRepository;
  readonly settings: SettingsRepository;
  readonly provisioning: ProvisioningRepository;
  readonly groups: GroupRepository;
  readonly requests: RequestRepository;
  /** When rows cached in memory may be stale (writes by another process or outside the repositories). */
  readonly freshness: Freshness;
  /** Runs `fn` in one IMMEDIATE transaction (writers queue instead of failing on upgrade). */
  transaction<T>(fn: () => T): T;
  /**
   * undefined when every commit so far is on disk, else a promise that settles once it is. Anything
   * computed from the database waits for it before it leaves the process (an answer, a publish).
   * Always undefined unless the store was opened with `flushWalOffThread` (SQLite then syncs itself).
   */
  durable(): Promise<void> | undefined;
  /**
   * Like `durable()`, for the settings versions only (what a config published to a tracker is made
   * of): trackers' answers written meanwhile do not make a SUBSCRIBE wait for a disk flush.
   */
  settingsDurable(): Promise<void> | undefined;
  /** Why the store can no longer keep its promises (a WAL flush failed), else undefined. */
  failure(): string | undefined;
  /**
   * Whether a transaction that failed with `err` may run again and succeed (PostgreSQL; never with
   * SQLite, whose writers queue): 'write' when another node wrote the same row first (run that write
   * again), 'transaction' when PostgreSQL broke a deadlock with another node's transaction (run the
   * whole outermost transaction again: the rows it locked before are what the other one waits for).
   */
  retryable(err: unknown): 'write' | 'transaction' | undefined;
  /** Starts hearing other nodes' commits so caches can be kept (PostgreSQL); resolves at once for SQLite. */
  watchOtherNodes(warn: (message: string, err: unknown) => void): Promise<void>;
  /**
   * Claims this database for a serving node: alone (`shared` false: no Redis) or as one of several
   * (`shared` true). Returns why not when another node's claim conflicts; SQLite has no claims.
   */
  claimNode(shared: boolean): string | undefined;
  /** Asks the checkpoint worker for a checkpoint now (a service store; tests). */
  checkpointNow(): void;
  /** The WAL file's size in bytes (0 when there is none). */
  walBytes(): number;
  close(): void;
}

export interface StoreOptions extends OpenOptions {
  /** Stands in for the WAL's fsync (tests); by default it runs on a thread of its own (FsyncThread). */
  readonly fsync?: Fsync;
  /** Hears each checkpoint the worker made (errors are worth a log line). */
  readonly onCheckpoint?: (result: CheckpointResult) => void;
}

/** The SQLite store, whose connection SQLite-only code (backup, checkpoints, tests) may use as such. */
export interface SqliteStore extends Store {
  readonly backend: 'sqlite';
  readonly db: Db;
}

/** The store's SQLite connection; throws for another backend. */
export function sqliteDb(store: Store): Db {
  if (store.backend !== 'sqlite') throw new Error(`this needs the SQLite store, not ${store.backend}`);
  return (store as SqliteStore).db;
}

export function openStore(file: string, options: StoreOptions = {}): SqliteStore {
  const db = openDatabase(file, options);
  const offThread = walFlushedByCaller(db, options);
  const writes = new Writes();
  const fsyncThread = offThread && !options.fsync ? new FsyncThread() : undefined;
  const wal = offThread ? new WalSync(resolve(`${db.name}-wal`), writes, options.fsync ?? fsyncThread?.fsync, () => db.inTransaction) : undefined;
  if (offThread) db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const finishCheckpoint = (result: CheckpointResult): void => {
    if (result.tail && db.open && !db.inTransaction) {
      try {
        const [done] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
        options.onCheckpoint?.({ tail: true, ...done });
      } catch (err) {
        options.onCheckpoint?.({ error: (err as Error).message });
      }
      return;
    }
    options.onCheckpoint?.(result);
  };
  const checkpointer = offThread ? new Checkpointer(resolve(db.name), options.checkpointIntervalMs ?? 100, finishCheckpoint) : undefined;
  const freshness = new DataVersionFreshness(db);
  let settingsWrittenAt = 0;
  const settings = new SettingsRepository(db, writes, freshness, () => (settingsWrittenAt = writes.count));
  // One transaction function for every call: db.transaction() builds four wrappers each time (~6 µs).
  const inTransaction = db.transaction((fn: () => unknown) => fn());
  return {
    backend: 'sqlite',
    db,
    freshness,
    ...repositories(db, writes, freshness, settings),
    transaction: <T>(fn: () => T): T => {
      try {
        return inTransaction.immediate(fn) as T;
      } finally {
        freshness.recheck();
      }
    },
    durable: wal ? () => wal.durable() : () => undefined,
    settingsDurable: wal ? () => wal.durable(settingsWrittenAt) : () => undefined,
    failure: () => (wal?.failed ? 'database flush failed: restart the service' : undefined),
    retryable: () => undefined,
    watchOtherNodes: async () => undefined,
    claimNode: () => undefined,
    checkpointNow: () => checkpointer?.now(),
    walBytes: () => fileBytes(`${db.name}-wal`),
    close: () => {
      if (!db.open) return;
      settings.flushPending();
      wal?.close();
      fsyncThread?.close();
      checkpointer?.close();
      db.close();
    },
  };
}

function fileBytes(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** The repositories over one connection, the same for both backends (the settings one is built by the caller). */
export function repositories(db: SqlDb, writes: Writes, freshness: Freshness, settings: SettingsRepository) {
  return {
    users: new UserRepository(db, writes, freshness),
    trackers: new TrackerRepository(db, writes, freshness),
    settings,
    provisioning: new ProvisioningRepository(db, writes),
    groups: new GroupRepository(db, writes),
    requests: new RequestRepository(db, freshness, writes),
  };
}

/** A database URL fit for logs: the password replaced by `***`. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(a URL that cannot be parsed)';
  }
}
