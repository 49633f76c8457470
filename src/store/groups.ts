import type { SqlDb as Db } from './sql.js';
import type { Writes } from './writes.js';

export interface GroupRow {
  readonly id: number;
  readonly owner_id: number;
  readonly title: string;
  /** 6 hex digits, upper case (`1E96DC`). */
  readonly color: string;
}

/** Tracker groups (Navixy's `tracker/group/list`); a tracker names its group in `trackers.group_id`. */
export class GroupRepository {
  private readonly byId;
  private readonly ofOwner;
  private readonly upsertStmt;
  private readonly membersStmt;

  constructor(
    db: Db,
    private readonly writes: Writes,
  ) {
    this.byId = db.prepare<[number], GroupRow>('SELECT id, owner_id, title, color FROM groups WHERE id = ?');
    this.ofOwner = db.prepare<[number], GroupRow>('SELECT id, owner_id, title, color FROM groups WHERE owner_id = ? ORDER BY id');
    this.upsertStmt = db.prepare<[number, number, string, string]>(
      `INSERT INTO groups (id, owner_id, title, color) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET owner_id = excluded.owner_id, title = excluded.title, color = excluded.color`,
    );
    this.membersStmt = db.prepare<[number], { id: number; owner_id: number }>('SELECT id, owner_id FROM trackers WHERE group_id = ? ORDER BY id');
  }

  findGroup(id: number): GroupRow | undefined {
    return this.byId.get(id);
  }

  /** A master user's groups, by id. */
  listForOwner(ownerId: number): GroupRow[] {
    return this.ofOwner.all(ownerId);
  }

  upsertGroup(id: number, ownerId: number, title: string, color: string): void {
    this.writes.run(this.upsertStmt, id, ownerId, title, color);
  }

  /** The trackers in a group. */
  members(groupId: number): { id: number; owner_id: number }[] {
    return this.membersStmt.all(groupId);
  }
}
