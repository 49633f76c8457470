import { openDatabase, type Db, type OpenOptions } from './db.js';
import { ProvisioningRepository } from './provisioning.js';
import { SettingsRepository } from './settings.js';
import { TrackerRepository } from './trackers.js';
import { UserRepository } from './users.js';

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
  /** Runs `fn` in one IMMEDIATE transaction (writers queue instead of failing on upgrade). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function openStore(file: string, options: OpenOptions = {}): Store {
  const db = openDatabase(file, options);
  return {
    db,
    users: new UserRepository(db),
    trackers: new TrackerRepository(db),
    settings: new SettingsRepository(db),
    provisioning: new ProvisioningRepository(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    close: () => {
      if (db.open) db.close();
    },
  };
}
