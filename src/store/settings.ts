import type { SqlDb as Db } from './sql.js';
import { EpochCache, type Freshness } from './freshness.js';
import type { Writes } from './writes.js';

export type SyncState = 'none' | 'pending' | 'delivered' | 'applied' | 'rejected';
/** How a version was made (docs/api.md#trackersettingstrackinghistory). */
export type VersionSource = 'update' | 'revert' | 'bulk';

/** One stored version as history shows it; `prior_*` is the outcome of the version before it. */
export interface VersionRow {
  readonly version: number;
  readonly settings: string;
  readonly changed_by: number | null;
  readonly login: string | null;
  readonly changed_at: string;
  readonly source: VersionSource;
  readonly prior_state: 'superseded' | 'applied' | 'rejected' | null;
  readonly prior_delivered_at: string | null;
  readonly prior_applied_at: string | null;
  readonly prior_reason: string | null;
}

/** A tracker's latest version and state (sync_summary). */
export interface TrackerSyncRow {
  readonly tracker_id: number;
  readonly version: number;
  readonly state: SyncState;
  readonly changed_at: string | null;
}

/** The latest accepted settings of a device (text as stored) and how far its tracker got. */
export interface SyncRow {
  readonly version: number;
  readonly settings: string | null;
  readonly state: SyncState;
  readonly changed_at: string | null;
  readonly delivered_at: string | null;
  readonly applied_at: string | null;
  readonly reason: string | null;
  readonly reported: string | null;
}

export interface LatestConfigRow {
  readonly device_id: string;
  readonly version: number;
  readonly settings: string;
  readonly changed_at: string;
  readonly tracking_profile: string | null;
}

const EMPTY_SYNC: SyncRow = Object.freeze({
  version: 0,
  settings: null,
  state: 'none',
  changed_at: null,
  delivered_at: null,
  applied_at: null,
  reason: null,
  reported: null,
});

/** Settings versions (append-only), the sync state of the latest one, and trackers' answers. */
export class SettingsRepository {
  private readonly syncOf;
  private readonly insertVersion;
  private readonly upsertLatest;
  private readonly markDelivered;
  private readonly markAnswered;
  private readonly stateOf;
  private readonly insertAck;
  private readonly pruneAcks;
  private readonly saveReported;
  private readonly byStateStmt;
  private readonly latestConfigStmt;
  private readonly versionSettingsStmt;
  private readonly versionRangeStmt;
  private readonly ownerSyncStmt;
  private readonly subuserSyncStmt;
  /** The sync row of each device, valid while the freshness epoch it was read at lasts. */
  private readonly syncCache = new EpochCache<number, SyncRow>();
  /**
   * Tracker answers (PUBACKs, acks, reported settings) not yet written: one transaction per
   * event-loop turn instead of one commit (one fsync under synchronous=FULL) each.
   */
  private pending: Array<() => void> = [];
  private flushScheduled = false;
  /** Made once: db.transaction() builds four wrappers each time (~6 µs a turn). */
  private readonly writeBatch;
  private readonly lockedSyncOf;

  constructor(
    private readonly db: Db,
    private readonly writes: Writes,
    private readonly freshness: Freshness,
    /** Told after each new version is written (Store.settingsDurable). */
    private readonly versionWritten: () => void = () => undefined,
    /**
     * Each queued answer committed on its own (PostgreSQL): a transaction holding several devices'
     * rows could deadlock with another node's versions of the same devices taken in another order.
     */
    { answerByAnswer = false, lockDevices = false }: { answerByAnswer?: boolean; lockDevices?: boolean } = {},
  ) {
    const syncSelect = `SELECT version, settings, state, changed_at, delivered_at, applied_at, reason, reported
       FROM device_sync WHERE device = ?`;
    // another node's transaction may be writing the same device: wait for it, then read what it wrote
    this.lockedSyncOf = lockDevices ? db.prepare<[number], SyncRow>(`${syncSelect} FOR UPDATE`) : undefined;
    // inside another transaction (a read of the sync state flushes the answers first) each one in a
    // savepoint: PostgreSQL refuses the rest of a transaction after one failed statement
    const savepointed = db.transaction((write: () => void) => write());
    const alone = answerByAnswer ? (write: () => void) => (db.inTransaction ? savepointed(write) : write()) : (write: () => void) => write();
    const eachAnswer = (batch: ReadonlyArray<() => void>) => {
      for (const write of batch) {
        try {
          alone(write);
        } catch (err) {
          // One answer the database refuses is dropped alone; a busy database retries the turn.
          if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw err;
        }
      }
    };
    this.writeBatch = answerByAnswer ? eachAnswer : db.transaction(eachAnswer);
    this.syncOf = db.prepare<[number], SyncRow>(syncSelect);
    this.insertVersion = db.prepare<[number, number, string, number | null, string, VersionSource, string | null, string | null, string | null, string | null]>(
      `INSERT INTO settings_versions (device, version, settings, changed_by, changed_at, source,
         prior_state, prior_delivered_at, prior_applied_at, prior_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.upsertLatest = db.prepare<[number, number, string, string]>(
      `INSERT INTO device_sync (device, version, settings, state, changed_at) VALUES (?, ?, ?, 'pending', ?)
       ON CONFLICT (device) DO UPDATE SET version = excluded.version, settings = excluded.settings,
         state = 'pending', changed_at = excluded.changed_at, delivered_at = NULL, applied_at = NULL, reason = NULL`,
    );
    this.markDelivered = db.prepare<[string, number, number], { changed_at: string }>(
      `UPDATE device_sync SET state = 'delivered', delivered_at = ?
       WHERE device = ? AND version = ? AND state = 'pending' RETURNING changed_at`,
    );
    this.stateOf = db.prepare<[number, number], { state: SyncState; changed_at: string | null }>(
      'SELECT state, changed_at FROM device_sync WHERE device = ? AND version = ?',
    );
    this.markAnswered = db.prepare<[SyncState, string | null, string | null, string, number, number]>(
      `UPDATE device_sync SET state = ?, applied_at = ?, reason = ?, delivered_at = coalesce(delivered_at, ?)
       WHERE device = ? AND version = ?`,
    );
    this.insertAck = db.prepare<[number, number, string, string | null, number, string]>(
      'INSERT INTO device_acks (device, version, status, reason, stale, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.pruneAcks = db.prepare<[number, number, number]>(
      `DELETE FROM device_acks WHERE device = ? AND id <=
         (SELECT id FROM device_acks WHERE device = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    );
    this.saveReported = db.prepare<[number, string, string]>(
      `INSERT INTO device_sync (device, reported, reported_at) VALUES (?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at`,
    );
    const latestSelect = `SELECT d.device_id, s.version, s.settings, s.changed_at, m.tracking_profile
       FROM device_sync s JOIN devices d ON d.id = s.device LEFT JOIN models m ON m.code = d.model
       WHERE s.version > 0`;
    this.latestConfigStmt = db.prepare<[string], LatestConfigRow>(`${latestSelect} AND d.device_id = ?`);
    this.byStateStmt = db.prepare<[], { state: SyncState; count: number }>(
      `SELECT coalesce(s.state, 'none') AS state, count(*) AS count FROM devices d LEFT JOIN device_sync s ON s.device = d.id GROUP BY 1`,
    );
    this.versionSettingsStmt = db.prepare<[number, number], { settings: string }>('SELECT settings FROM settings_versions WHERE device = ? AND version = ?');
    this.versionRangeStmt = db.prepare<[number, number, number], VersionRow>(
      `SELECT v.version, v.settings, v.changed_by, u.login, v.changed_at, v.source,
         v.prior_state, v.prior_delivered_at, v.prior_applied_at, v.prior_reason
       FROM settings_versions v LEFT JOIN users u ON u.id = v.changed_by
       WHERE v.device = ? AND v.version BETWEEN ? AND ? ORDER BY v.version DESC`,
    );
    const trackerSync = `SELECT t.id AS tracker_id, coalesce(s.version, 0) AS version,
         coalesce(s.state, 'none') AS state, s.changed_at
       FROM trackers t LEFT JOIN device_sync s ON s.device = t.device`;
    this.ownerSyncStmt = db.prepare<[number], TrackerSyncRow>(`${trackerSync} WHERE t.owner_id = ? ORDER BY t.id`);
    this.subuserSyncStmt = db.prepare<[number], TrackerSyncRow>(
      `${trackerSync} JOIN subuser_trackers b ON b.tracker_id = t.id WHERE b.user_id = ? ORDER BY t.id`,
    );
  }

  /**
   * The device's latest settings and sync state. Served from memory while nothing but this
   * repository wrote to the database (see Freshness); rows read inside a transaction are not kept
   * (it may roll back). The returned row is shared: never mutate it.
   */
  sync(device: number): SyncRow {
    if (this.pending.length > 0) this.flushPending();
    const load = () => this.syncOf.get(device) ?? EMPTY_SYNC;
    return this.syncCache.read(device, this.freshness.current('versions'), load, !this.db.inTransaction)!;
  }

  /**
   * The latest version and state, read to choose the next version (inside its transaction). With
   * several nodes (PostgreSQL) the row stays locked until the commit, so two nodes never choose the
   * same number: the second waits and reads the first one's version (docs/scaling.md#versions).
   */
  syncForNewVersion(device: number): SyncRow {
    if (!this.lockedSyncOf) return this.sync(device);
    if (this.pending.length > 0) this.flushPending();
    return this.lockedSyncOf.get(device) ?? EMPTY_SYNC;
  }

  /**
   * Appends a version and makes it the latest, state pending. `replaced` is the device's sync row
   * before this version (read in the same transaction): its outcome is final now and is stored with
   * the new row, so no older row is ever updated. Call inside a transaction.
   */
  appendVersion(
    device: number,
    version: number,
    settingsJson: string,
    changedBy: number | null,
    changedAt: string,
    source: VersionSource = 'update',
    replaced: SyncRow = EMPTY_SYNC,
  ): void {
    const answered = replaced.state === 'applied' || replaced.state === 'rejected';
    const prior = replaced.version === 0 ? null : answered ? replaced.state : 'superseded';
    this.wrote(
      device,
      this.writes.run(
        this.insertVersion,
        device,
        version,
        settingsJson,
        changedBy,
        changedAt,
        source,
        prior,
        prior && replaced.delivered_at,
        prior && replaced.applied_at,
        prior && replaced.reason,
      ).changes,
    );
    this.wrote(device, this.writes.run(this.upsertLatest, device, version, settingsJson, changedAt).changes);
    this.versionWritten();
  }

  /**
   * The latest version number, without writing the deferred answers first: none of them changes it
   * (a tracker's answer is checked against it when it arrives).
   */
  currentVersion(device: number): number {
    const epoch = this.freshness.current('versions');
    return (this.syncCache.get(device, epoch) ?? this.syncOf.get(device) ?? EMPTY_SYNC).version;
  }

  /**
   * Queues a write of a tracker's answer for the end of this event-loop turn, where it commits with
   * the others of the turn. Any read of the sync state writes what is queued first.
   */
  defer(write: () => void): void {
    this.pending.push(write);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flushPending());
  }

  /**
   * pending → delivered for exactly this version (a no-op when a newer version or an answer came
   * first); `moved` hears the version's changed_at when the state did change.
   */
  delivered(device: number, version: number, at: string, moved?: (changedAt: string) => void): void {
    this.defer(() => {
      const row = this.writes.get(this.markDelivered, at, device, version);
      this.wrote(device, row === undefined ? 0 : 1);
      if (row !== undefined) moved?.(row.changed_at);
    });
  }

  /** Writes the queued answers now (also called before closing the database). */
  flushPending(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.writeBatch(batch);
    } catch {
      // Busy for longer than busy_timeout: keep them for the next turn (the state stays as it was meanwhile).
      this.pending = batch.concat(this.pending);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setTimeout(() => this.flushPending(), 100).unref();
      }
    }
  }

  /** Records the answer for this version; returns its changed_at when the state moved (not on a repeated answer). */
  answered(device: number, version: number, state: 'applied' | 'rejected', reason: string | null, at: string): string | undefined {
    const before = this.stateOf.get(device, version);
    this.wrote(device, this.writes.run(this.markAnswered, state, state === 'applied' ? at : null, reason, at, device, version).changes);
    return before !== undefined && before.state !== state && before.changed_at !== null ? before.changed_at : undefined;
  }

  /** Records a tracker's ack; with `keep` > 0 only the newest `keep` of the device stay (docs/mqtt.md#limits-on-what-a-tracker-sends). */
  recordAck(device: number, version: number, status: string, reason: string | null, stale: boolean, at: string, keep = 0): void {
    this.freshness.own(this.writes.run(this.insertAck, device, version, status, reason, stale ? 1 : 0, at).changes);
    if (keep > 0) this.freshness.own(this.writes.run(this.pruneAcks, device, device, keep).changes);
  }

  reported(device: number, settingsJson: string, at: string): void {
    this.wrote(device, this.writes.run(this.saveReported, device, settingsJson, at).changes);
  }

  /** A write of this repository: its cache entry goes, and it does not make other caches stale. */
  private wrote(device: number, changes: number): void {
    this.syncCache.delete(device);
    this.freshness.own(changes);
  }

  /** The settings text of one version, undefined when the device has no such version. */
  versionSettings(device: number, version: number): string | undefined {
    return this.versionSettingsStmt.get(device, version)?.settings;
  }

  /** Versions `from`..`to` of a device, newest first (history pages). */
  versionRange(device: number, from: number, to: number): VersionRow[] {
    return this.versionRangeStmt.all(device, from, to);
  }

  /** The latest version and state of every tracker a user may see, by tracker id. */
  trackerSync(userId: number, isSubuser: boolean): TrackerSyncRow[] {
    if (this.pending.length > 0) this.flushPending();
    return (isSubuser ? this.subuserSyncStmt : this.ownerSyncStmt).all(userId);
  }

  /** How many devices are in each sync state (`none` for those never configured): one grouped query. */
  devicesByState(): Array<{ state: SyncState; count: number }> {
    return this.byStateStmt.all();
  }

  latestConfig(deviceId: string): LatestConfigRow | undefined {
    return this.latestConfigStmt.get(deviceId);
  }
}
