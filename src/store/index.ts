import { resolve } from 'node:path';
import { openDatabase, walFlushedByCaller, type Db, type OpenOptions } from './db.js';
import { Freshness } from './freshness.js';
import { ProvisioningRepository } from './provisioning.js';
import { SettingsRepository } from './settings.js';
import { TrackerRepository } from './trackers.js';
import { UserRepository } from './users.js';
import { WalSync, type Fsync } from './wal-sync.js';

export type { Db } from './db.js';
export type { SyncRow, SyncState, LatestConfigRow } from './settings.js';
export type { TrackerRow, DeviceRow } from './trackers.js';
export type { UserRow } from './users.js';

/** The database and its repositories, built once by the composition root. */
export interface Store {
  readonly db: Db;
  readonly users: UserRepository;
  readonly trackers: TrackerRepository;
  readonly settings: SettingsRepository;
  readonly provisioning: ProvisioningRepository;
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
  close(): void;
}

export function openStore(file: string, options: OpenOptions & { fsync?: Fsync } = {}): Store {
  const db = openDatabase(file, options);
  const wal = walFlushedByCaller(db, options) ? new WalSync(resolve(`${db.name}-wal`), options.fsync) : undefined;
  const freshness = new Freshness(db, wal && (() => wal.written()));
  const settings = new SettingsRepository(db, freshness);
  return {
    db,
    freshness,
    users: new UserRepository(db, freshness),
    trackers: new TrackerRepository(db, freshness),
    settings,
    provisioning: new ProvisioningRepository(db),
    transaction: <T>(fn: () => T): T => {
      try {
        return db.transaction(fn).immediate();
      } finally {
        freshness.recheck();
      }
    },
    durable: wal ? () => wal.durable() : () => undefined,
    close: () => {
      if (!db.open) return;
      settings.flushPending();
      wal?.close();
      db.close();
    },
  };
}
