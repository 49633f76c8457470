import type { SqlDb as Db } from './sql.js';
import { EpochCache, type Freshness } from './freshness.js';
import { navixyDateTime } from './time.js';
import type { Writes } from './writes.js';

/** A tracker with its device, model and the latest settings state: everything a call checks. */
export interface TrackerRow {
  readonly id: number;
  readonly owner_id: number;
  readonly label: string;
  readonly clone_of: number | null;
  readonly device: number;
  readonly device_id: string;
  readonly model: string;
  readonly blocked: 0 | 1;
  readonly tracking_profile: string | null;
  /** The tracker's group (a group of its owner), null for none. */
  readonly group_id: number | null;
  /** The device's SIM phone number. */
  readonly phone: string | null;
  /** When the device was created, "yyyy-MM-dd HH:mm:ss" UTC. */
  readonly device_created_at: string;
}

export interface DeviceRow {
  readonly id: number;
  readonly device_id: string;
  readonly model: string;
  readonly blocked: 0 | 1;
  readonly secret_digest: Buffer;
  readonly tracking_profile: string | null;
}

const TRACKER_SELECT = `
  SELECT t.id, t.owner_id, t.label, t.clone_of, t.device, d.device_id, d.model, d.blocked, m.tracking_profile,
    t.group_id, d.phone, d.created_at AS device_created_at
  FROM trackers t JOIN devices d ON d.id = t.device LEFT JOIN models m ON m.code = d.model`;

/** Models, devices, trackers and sub-user bindings. */
export class TrackerRepository {
  private readonly trackerById;
  private readonly trackersOfOwner;
  private readonly trackersOfSubuser;
  private readonly isBound;
  private readonly deviceByDeviceId;
  private readonly upsertModelStmt;
  private readonly modelByCode;
  private readonly insertDevice;
  private readonly updateDevice;
  private readonly upsertTracker;
  private readonly bindStmt;
  private readonly visibleDeviceIdsStmt;
  private readonly subuserDeviceIdsStmt;
  private readonly blockedStmt;
  private readonly ownerModelStmt;
  private readonly subuserModelStmt;
  private readonly ownerGroupStmt;
  private readonly subuserGroupStmt;
  /** Rows by tracker id and by device id, valid for one freshness epoch (any provisioning write ends it). */
  private readonly trackerCache = new EpochCache<number, TrackerRow>();
  private readonly deviceCache = new EpochCache<string, DeviceRow>();

  constructor(
    private readonly db: Db,
    private readonly writes: Writes,
    private readonly freshness: Freshness,
  ) {
    this.trackerById = db.prepare<[number], TrackerRow>(`${TRACKER_SELECT} WHERE t.id = ?`);
    this.trackersOfOwner = db.prepare<[number], TrackerRow>(`${TRACKER_SELECT} WHERE t.owner_id = ? ORDER BY t.id`);
    this.trackersOfSubuser = db.prepare<[number], TrackerRow>(
      `${TRACKER_SELECT} JOIN subuser_trackers b ON b.tracker_id = t.id WHERE b.user_id = ? ORDER BY t.id`,
    );
    this.isBound = db.prepare<[number, number], { one: 1 }>('SELECT 1 AS one FROM subuser_trackers WHERE user_id = ? AND tracker_id = ?');
    this.deviceByDeviceId = db.prepare<[string], DeviceRow>(
      `SELECT d.id, d.device_id, d.model, d.blocked, d.secret_digest, m.tracking_profile
       FROM devices d LEFT JOIN models m ON m.code = d.model WHERE d.device_id = ?`,
    );
    this.upsertModelStmt = db.prepare<[string, string | null, string]>(
      `INSERT INTO models (code, tracking_profile, source) VALUES (?, ?, ?)
       ON CONFLICT (code) DO UPDATE SET tracking_profile = excluded.tracking_profile, source = excluded.source
       WHERE models.source = 'config' OR excluded.source = 'import'`,
    );
    this.modelByCode = db.prepare<[string], { code: string; tracking_profile: string | null }>('SELECT code, tracking_profile FROM models WHERE code = ?');
    this.insertDevice = db.prepare<[string, string, number, Buffer, string | null, string], { id: number }>(
      'INSERT INTO devices (device_id, model, blocked, secret_digest, phone, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
    );
    this.updateDevice = db.prepare<[string, number, Buffer | null, number, string | null, number]>(
      `UPDATE devices SET model = ?, blocked = ?, secret_digest = coalesce(?, secret_digest), phone = CASE WHEN ? = 1 THEN ? ELSE phone END
       WHERE id = ?`,
    );
    this.upsertTracker = db.prepare<[number | null, number, string, number, number | null, number | null, number], { id: number }>(
      `INSERT INTO trackers (id, owner_id, label, device, clone_of, group_id) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, label = excluded.label,
         device = excluded.device, clone_of = excluded.clone_of, group_id = CASE WHEN ? = 1 THEN excluded.group_id ELSE trackers.group_id END
       RETURNING id`,
    );
    this.bindStmt = db.prepare<[number, number]>('INSERT INTO subuser_trackers (user_id, tracker_id) VALUES (?, ?) ON CONFLICT DO NOTHING');
    this.visibleDeviceIdsStmt = db.prepare<[number], { device_id: string }>(
      'SELECT DISTINCT d.device_id FROM trackers t JOIN devices d ON d.id = t.device WHERE t.owner_id = ?',
    );
    this.subuserDeviceIdsStmt = db.prepare<[number], { device_id: string }>(
      `SELECT DISTINCT d.device_id FROM subuser_trackers b JOIN trackers t ON t.id = b.tracker_id
       JOIN devices d ON d.id = t.device WHERE b.user_id = ?`,
    );
    this.blockedStmt = db.prepare<[], { device_id: string }>('SELECT device_id FROM devices WHERE blocked = 1');
    const subuserJoin = `${TRACKER_SELECT} JOIN subuser_trackers b ON b.tracker_id = t.id WHERE b.user_id = ?`;
    this.ownerModelStmt = db.prepare<[number, string], TrackerRow>(`${TRACKER_SELECT} WHERE t.owner_id = ? AND d.model = ? ORDER BY t.id`);
    this.subuserModelStmt = db.prepare<[number, string], TrackerRow>(`${subuserJoin} AND d.model = ? ORDER BY t.id`);
    // group 0 is "no group" (NULL), as tracker/list shows it.
    this.ownerGroupStmt = db.prepare<[number, number], TrackerRow>(`${TRACKER_SELECT} WHERE t.owner_id = ? AND coalesce(t.group_id, 0) = ? ORDER BY t.id`);
    this.subuserGroupStmt = db.prepare<[number, number], TrackerRow>(`${subuserJoin} AND coalesce(t.group_id, 0) = ? ORDER BY t.id`);
  }

  /** The trackers a user may see whose device has this exact model code, by id. */
  visibleWithModel(userId: number, isSubuser: boolean, model: string): TrackerRow[] {
    return (isSubuser ? this.subuserModelStmt : this.ownerModelStmt).all(userId, model);
  }

  /** The trackers a user may see in this group (0: in none), by id. */
  visibleInGroup(userId: number, isSubuser: boolean, groupId: number): TrackerRow[] {
    return (isSubuser ? this.subuserGroupStmt : this.ownerGroupStmt).all(userId, groupId);
  }

  /** The returned row is shared: never mutate it. */
  findTracker(id: number): TrackerRow | undefined {
    return this.trackerCache.read(id, this.freshness.current(), () => this.trackerById.get(id), !this.db.inTransaction);
  }

  listForOwner(ownerId: number): TrackerRow[] {
    return this.trackersOfOwner.all(ownerId);
  }

  listForSubuser(userId: number): TrackerRow[] {
    return this.trackersOfSubuser.all(userId);
  }

  isBoundTo(userId: number, trackerId: number): boolean {
    return this.isBound.get(userId, trackerId) !== undefined;
  }

  /** Device ids of every tracker a user may see (MQTT observers). */
  visibleDeviceIds(userId: number, isSubuser: boolean): string[] {
    const rows = isSubuser ? this.subuserDeviceIdsStmt.all(userId) : this.visibleDeviceIdsStmt.all(userId);
    return rows.map((row) => row.device_id);
  }

  blockedDeviceIds(): string[] {
    return this.blockedStmt.all().map((row) => row.device_id);
  }

  /** The returned row is shared: never mutate it. */
  findDevice(deviceId: string): DeviceRow | undefined {
    const load = () => this.deviceByDeviceId.get(deviceId);
    return this.deviceCache.read(deviceId, this.freshness.current(), load, !this.db.inTransaction);
  }

  findModel(code: string): { code: string; tracking_profile: string | null } | undefined {
    return this.modelByCode.get(code);
  }

  /** Config models never overwrite a code that an import changed. */
  upsertModel(code: string, trackingProfile: string | null, source: 'config' | 'import'): void {
    this.writes.run(this.upsertModelStmt, code, trackingProfile, source);
  }

  /**
   * Inserts or updates by device id; `secretDigest` null keeps the stored secret, `phone` undefined
   * keeps the stored phone (null clears it). A new device is created at `now`. Returns the row id.
   */
  upsertDevice(deviceId: string, model: string, blocked: boolean, secretDigest: Buffer | null, phone?: string | null, now: number = Date.now()): number {
    const existing = this.deviceByDeviceId.get(deviceId);
    if (existing) {
      // the update's `phone = ?` is run (1) or skipped (0): undefined keeps the stored phone
      this.writes.run(this.updateDevice, model, blocked ? 1 : 0, secretDigest, phone === undefined ? 0 : 1, phone ?? null, existing.id);
      return existing.id;
    }
    if (!secretDigest) throw new Error(`device ${deviceId} needs a secret`);
    const createdAt = navixyDateTime(new Date(now).toISOString());
    return this.writes.get(this.insertDevice, deviceId, model, blocked ? 1 : 0, secretDigest, phone ?? null, createdAt)!.id;
  }

  /** Inserts or updates by id; `groupId` undefined keeps an existing tracker's group (a new one has none). */
  upsertTrackerRow(id: number | null, ownerId: number, label: string, device: number, cloneOf: number | null, groupId?: number | null): number {
    return this.writes.get(this.upsertTracker, id, ownerId, label, device, cloneOf, groupId ?? null, groupId === undefined ? 0 : 1)!.id;
  }

  bind(userId: number, trackerId: number): void {
    this.writes.run(this.bindStmt, userId, trackerId);
  }
}
