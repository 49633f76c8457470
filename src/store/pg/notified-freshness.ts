import type { Freshness } from '../freshness.js';
import type { PgDb } from './pg-db.js';

/**
 * PostgreSQL's Freshness. Another node's commit is heard as a notification (change-listener.ts) and
 * moves the epoch; a write of this connection the store did not account for (`own()`) moves it too,
 * as with SQLite. Inside a transaction, and while no listener hears the other nodes (a CLI command,
 * a lost listening connection), every call is a new epoch: nothing cached is trusted.
 */
/** Tables whose changes only caches of versions and sync states depend on. */
const VERSION_TABLES = new Set(['settings_versions', 'device_sync']);
/** Tables no cache depends on. */
const UNCACHED_TABLES = new Set(['device_acks', 'request_answers']);

export class NotifiedFreshness implements Freshness {
  private epoch = 0;
  private versionsEpoch = 0;
  private untrusted = 0;
  private ownChanges = 0;
  private lastTotalChanges: number;
  private listening = false;

  constructor(private readonly db: PgDb) {
    this.lastTotalChanges = db.totalChanges;
  }

  own(changes: number): void {
    this.ownChanges += changes;
  }

  recheck(): void {
    // the counters are this process' own: nothing to ask the server
  }

  /** Another node (or process) committed a change of `table`. */
  changedElsewhere(table: string): void {
    if (UNCACHED_TABLES.has(table)) return;
    this.versionsEpoch++;
    if (!VERSION_TABLES.has(table)) this.epoch++;
  }

  /** Whether other nodes' changes are heard; while not, nothing is cached. */
  setListening(listening: boolean): void {
    this.listening = listening;
    this.epoch++;
    this.versionsEpoch++;
  }

  current(scope?: 'versions'): number {
    if (!this.listening || this.db.inTransaction) return --this.untrusted;
    const total = this.db.totalChanges;
    if (total - this.lastTotalChanges !== this.ownChanges) {
      this.epoch++;
      this.versionsEpoch++;
    }
    this.lastTotalChanges = total;
    this.ownChanges = 0;
    return scope === 'versions' ? this.versionsEpoch : this.epoch;
  }
}
