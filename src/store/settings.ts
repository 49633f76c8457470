import type { Db } from './db.js';

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
  private readonly versionsStmt;

  constructor(db: Db) {
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
    this.versionsStmt = db.prepare<[number], { version: number; settings: string; changed_by: number | null; changed_at: string }>(
      'SELECT version, settings, changed_by, changed_at FROM settings_versions WHERE device = ? ORDER BY version',
    );
  }

  sync(device: number): SyncRow {
    return this.syncOf.get(device) ?? EMPTY_SYNC;
  }

  /** Appends a version and makes it the latest, state pending. Call inside a transaction. */
  appendVersion(device: number, version: number, settingsJson: string, changedBy: number | null, changedAt: string): void {
    this.insertVersion.run(device, version, settingsJson, changedBy, changedAt);
    this.upsertLatest.run(device, version, settingsJson, changedAt);
  }

  /** pending → delivered for exactly this version; false when it no longer applies. */
  delivered(device: number, version: number, at: string): boolean {
    return this.markDelivered.run(at, device, version).changes > 0;
  }

  answered(device: number, version: number, state: 'applied' | 'rejected', reason: string | null, at: string): void {
    this.markAnswered.run(state, state === 'applied' ? at : null, reason, at, device, version);
  }

  recordAck(device: number, version: number, status: string, reason: string | null, stale: boolean, at: string): void {
    this.insertAck.run(device, version, status, reason, stale ? 1 : 0, at);
  }

  reported(device: number, settingsJson: string, at: string): void {
    this.saveReported.run(device, settingsJson, at);
  }

  latestConfig(deviceId: string): LatestConfigRow | undefined {
    return this.latestConfigStmt.get(deviceId);
  }

  *allLatestConfigs(): IterableIterator<LatestConfigRow> {
    yield* this.allLatestStmt.iterate();
  }

  versions(device: number) {
    return this.versionsStmt.all(device);
  }
}
