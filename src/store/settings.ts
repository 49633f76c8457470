import type { Db } from './db.js';
import { EpochCache, type Freshness } from './freshness.js';
import type { Writes } from './writes.js';

export type SyncState = 'none' | 'pending' | 'delivered' | 'applied' | 'rejected';

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
  private readonly insertAck;
  private readonly saveReported;
  private readonly latestConfigStmt;
  private readonly allLatestStmt;
  /** The sync row of each device, valid while the freshness epoch it was read at lasts. */
  private readonly syncCache = new EpochCache<number, SyncRow>();
  /**
   * Tracker answers (PUBACKs, acks, reported settings) not yet written: one transaction per
   * event-loop turn instead of one commit (one fsync under synchronous=FULL) each.
   */
  private pending: Array<() => void> = [];
  private flushScheduled = false;

  constructor(
    private readonly db: Db,
    private readonly writes: Writes,
    private readonly freshness: Freshness,
    /** Told after each new version is written (Store.settingsDurable). */
    private readonly versionWritten: () => void = () => undefined,
  ) {
    this.syncOf = db.prepare<[number], SyncRow>(
      `SELECT version, settings, state, changed_at, delivered_at, applied_at, reason, reported
       FROM device_sync WHERE device = ?`,
    );
    this.insertVersion = db.prepare<[number, number, string, number | null, string]>(
      'INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.upsertLatest = db.prepare<[number, number, string, string]>(
      `INSERT INTO device_sync (device, version, settings, state, changed_at) VALUES (?, ?, ?, 'pending', ?)
       ON CONFLICT (device) DO UPDATE SET version = excluded.version, settings = excluded.settings,
         state = 'pending', changed_at = excluded.changed_at, delivered_at = NULL, applied_at = NULL, reason = NULL`,
    );
    this.markDelivered = db.prepare<[string, number, number]>(
      `UPDATE device_sync SET state = 'delivered', delivered_at = ?
       WHERE device = ? AND version = ? AND state = 'pending'`,
    );
    this.markAnswered = db.prepare<[SyncState, string | null, string | null, string, number, number]>(
      `UPDATE device_sync SET state = ?, applied_at = ?, reason = ?, delivered_at = coalesce(delivered_at, ?)
       WHERE device = ? AND version = ?`,
    );
    this.insertAck = db.prepare<[number, number, string, string | null, number, string]>(
      'INSERT INTO device_acks (device, version, status, reason, stale, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.saveReported = db.prepare<[number, string, string]>(
      `INSERT INTO device_sync (device, reported, reported_at) VALUES (?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET reported = excluded.reported, reported_at = excluded.reported_at`,
    );
    const latestSelect = `SELECT d.device_id, s.version, s.settings, s.changed_at, m.tracking_profile
       FROM device_sync s JOIN devices d ON d.id = s.device LEFT JOIN models m ON m.code = d.model
       WHERE s.version > 0`;
    this.latestConfigStmt = db.prepare<[string], LatestConfigRow>(`${latestSelect} AND d.device_id = ?`);
    this.allLatestStmt = db.prepare<[], LatestConfigRow>(latestSelect);
  }

  /**
   * The device's latest settings and sync state. Served from memory while nothing but this
   * repository wrote to the database (see Freshness); rows read inside a transaction are not kept
   * (it may roll back). The returned row is shared: never mutate it.
   */
  sync(device: number): SyncRow {
    if (this.pending.length > 0) this.flushPending();
    const load = () => this.syncOf.get(device) ?? EMPTY_SYNC;
    return this.syncCache.read(device, this.freshness.current(), load, !this.db.inTransaction)!;
  }

  /** Appends a version and makes it the latest, state pending. Call inside a transaction. */
  appendVersion(device: number, version: number, settingsJson: string, changedBy: number | null, changedAt: string): void {
    this.wrote(device, this.writes.run(this.insertVersion, device, version, settingsJson, changedBy, changedAt).changes);
    this.wrote(device, this.writes.run(this.upsertLatest, device, version, settingsJson, changedAt).changes);
    this.versionWritten();
  }

  /**
   * The latest version number, without writing the deferred answers first: none of them changes it
   * (a tracker's answer is checked against it when it arrives).
   */
  currentVersion(device: number): number {
    const epoch = this.freshness.current();
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

  /** pending → delivered for exactly this version (a no-op when a newer version or an answer came first). */
  delivered(device: number, version: number, at: string): void {
    this.defer(() => this.wrote(device, this.writes.run(this.markDelivered, at, device, version).changes));
  }

  /** Writes the queued answers now (also called before closing the database). */
  flushPending(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || !this.db.open) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.db.transaction(() => {
        for (const write of batch) {
          try {
            write();
          } catch (err) {
            // One answer the database refuses is dropped alone; a busy database retries the turn.
            if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw err;
          }
        }
      })();
    } catch {
      // Busy for longer than busy_timeout: keep them for the next turn (the state stays as it was meanwhile).
      this.pending = batch.concat(this.pending);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setTimeout(() => this.flushPending(), 100).unref();
      }
    }
  }

  answered(device: number, version: number, state: 'applied' | 'rejected', reason: string | null, at: string): void {
    this.wrote(device, this.writes.run(this.markAnswered, state, state === 'applied' ? at : null, reason, at, device, version).changes);
  }

  recordAck(device: number, version: number, status: string, reason: string | null, stale: boolean, at: string): void {
    this.freshness.own(this.writes.run(this.insertAck, device, version, status, reason, stale ? 1 : 0, at).changes);
  }

  reported(device: number, settingsJson: string, at: string): void {
    this.wrote(device, this.writes.run(this.saveReported, device, settingsJson, at).changes);
  }

  /** A write of this repository: its cache entry goes, and it does not make other caches stale. */
  private wrote(device: number, changes: number): void {
    this.syncCache.delete(device);
    this.freshness.own(changes);
  }

  latestConfig(deviceId: string): LatestConfigRow | undefined {
    return this.latestConfigStmt.get(deviceId);
  }

  *allLatestConfigs(): IterableIterator<LatestConfigRow> {
    yield* this.allLatestStmt.iterate();
  }

}
