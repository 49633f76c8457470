import type { Db } from './db.js';

/** Tells in-process caches of database rows when they may be stale. */
export interface Freshness {
  /** Rows changed by a store write whose caches were kept up to date by the writer itself. */
  own(changes: number): void;
  /** The next `current()` asks the database again (after a transaction or a write it must see). */
  recheck(): void;
  /**
   * The epoch now: a cache keeps an entry only while the epoch it was read at is current. Caches of
   * settings versions and sync states ask for `'versions'`: another node's new version or tracker
   * answer moves that epoch only, not the one of sessions, trackers and devices.
   */
  current(scope?: 'versions'): number;
}

/**
 * SQLite's Freshness.
 *
 * The epoch changes whenever something other than the store's own cache-coherent writes changed
 * the database: a commit by another connection (`trackconf import` while serving: SQLite's
 * `PRAGMA data_version`), or a statement on this connection that the store did not account for
 * (`total_changes()` grew by more than the rows the store reported through `own()`). Provisioning
 * writes are deliberately not reported, so they too move the epoch. A cache keeps an entry only
 * while the epoch it was read at is still current, so it is never staler than one `current()` call.
 */
export class DataVersionFreshness implements Freshness {
  private readonly stateStmt;
  private epoch = 0;
  private lastDataVersion: number;
  private lastTotalChanges: number;
  private ownChanges = 0;
  /** The epoch was checked in this event-loop turn (reset at its end): one query per turn, not per request. */
  private checked = false;

  constructor(private readonly db: Db) {
    this.stateStmt = db.prepare<[], { dv: number; tc: number }>('SELECT (SELECT data_version FROM pragma_data_version) AS dv, total_changes() AS tc');
    const state = this.stateStmt.get()!;
    this.lastDataVersion = state.dv;
    this.lastTotalChanges = state.tc;
  }

  /** Rows changed by a store write whose caches were kept up to date by the writer itself. */
  own(changes: number): void {
    this.ownChanges += changes;
  }

  /** The next `current()` asks the database again (after a transaction or a write it must see). */
  recheck(): void {
    this.checked = false;
  }

  /**
   * The epoch now; a new one when the database changed behind the caches' back. Checked against the
   * database once per event-loop turn (under load a turn serves many requests and MQTT packets, and
   * the statement was a tenth of a read's cost when it ran per request), so another process's commit
   * is seen from the next turn on; this connection's writes recheck at once (`recheck()` after each
   * transaction or unaccounted write), and inside a transaction every call checks again.
   */
  current(): number {
    if (this.checked && !this.db.inTransaction) return this.epoch;
    const { dv, tc } = this.stateStmt.get()!;
    if (dv !== this.lastDataVersion || tc - this.lastTotalChanges !== this.ownChanges) {
      this.epoch++;
      this.lastDataVersion = dv;
    }
    this.lastTotalChanges = tc;
    this.ownChanges = 0;
    if (!this.checked) {
      this.checked = true;
      setImmediate(() => {
        this.checked = false;
      });
    }
    return this.epoch;
  }
}

/** A bounded map of rows valid for one Freshness epoch. */
export class EpochCache<K, V> {
  private readonly entries = new Map<K, { epoch: number; value: V }>();

  constructor(private readonly max = 100_000) {}

  get(key: K, epoch: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.epoch === epoch) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * The entry of `key` for this epoch, else what `load` reads, kept when `keep` (not inside a
   * transaction: it may roll back) and when there is a row to keep.
   */
  read(key: K, epoch: number, load: () => V | undefined, keep: boolean): V | undefined {
    const cached = this.get(key, epoch);
    if (cached !== undefined) return cached;
    const value = load();
    if (value !== undefined && keep) this.set(key, epoch, value);
    return value;
  }

  set(key: K, epoch: number, value: V): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, { epoch, value });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
