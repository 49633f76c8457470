import type { SqlDb as Db } from './sql.js';
import type { Writes } from './writes.js';

export interface TrackerRef {
  readonly id: number;
  readonly owner_id: number;
}

export interface BindingRef {
  readonly user_id: number;
  readonly master_id: number | null;
}

/** The lookups `trackconf import` needs beyond the other repositories (docs/provisioning.md). */
export class ProvisioningRepository {
  private readonly apiKeyCountStmt;
  private readonly primariesStmt;
  private readonly clonesStmt;
  private readonly clonesOfOwnerStmt;
  private readonly bindingsStmt;
  private readonly moveClonesStmt;

  constructor(
    db: Db,
    private readonly writes: Writes,
  ) {
    this.apiKeyCountStmt = db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM api_keys WHERE user_id = ?');
    this.primariesStmt = db.prepare<[number], TrackerRef>('SELECT id, owner_id FROM trackers WHERE device = ? AND clone_of IS NULL ORDER BY id');
    this.clonesStmt = db.prepare<[number], TrackerRef>('SELECT id, owner_id FROM trackers WHERE clone_of = ? ORDER BY id');
    this.clonesOfOwnerStmt = db.prepare<[number, number], TrackerRef>('SELECT id, owner_id FROM trackers WHERE clone_of = ? AND owner_id = ? ORDER BY id');
    this.bindingsStmt = db.prepare<[number], BindingRef>(
      `SELECT b.user_id, u.master_id FROM subuser_trackers b JOIN users u ON u.id = b.user_id
       WHERE b.tracker_id = ? ORDER BY b.user_id`,
    );
    this.moveClonesStmt = db.prepare<[number, number]>('UPDATE trackers SET device = ? WHERE clone_of = ?');
  }

  apiKeyCount(userId: number): number {
    return this.apiKeyCountStmt.get(userId)?.n ?? 0;
  }

  /** The non-clone trackers on a device (normally one). */
  primaryTrackers(device: number): TrackerRef[] {
    return this.primariesStmt.all(device);
  }

  clonesOf(trackerId: number): TrackerRef[] {
    return this.clonesStmt.all(trackerId);
  }

  /** An owner's clones of one tracker (normally at most one). */
  clonesOfOwner(trackerId: number, ownerId: number): TrackerRef[] {
    return this.clonesOfOwnerStmt.all(trackerId, ownerId);
  }

  /** Sub-users bound to a tracker, with their masters. */
  bindings(trackerId: number): BindingRef[] {
    return this.bindingsStmt.all(trackerId);
  }

  /** Clones share their target's device row: follow it when the target moves to another device. */
  moveClones(trackerId: number, device: number): void {
    this.writes.run(this.moveClonesStmt, device, trackerId);
  }
}
