import { call, type Answer } from './api.js';

/** The states a row shows (docs/console.md#trackers): the device's sync state, or `blocked`. */
export const STATES = ['pending', 'delivered', 'applied', 'rejected', 'none', 'blocked'] as const;

export interface Row {
  readonly id: number;
  readonly label: string;
  readonly model: string;
  readonly groupId: number;
  readonly group: string;
  readonly deviceId: string;
  readonly blocked: boolean;
  readonly clone: boolean;
  /** Lower-case label, device id, model and group: what the text filter searches. */
  readonly haystack: string;
  version: number;
  state: string;
  changedAt: string | null;
}

interface SyncEntry {
  readonly tracker_id: number;
  readonly version: number;
  readonly state: string;
  readonly changed_at: string | null;
}

/**
 * Every tracker the user may see, with its latest version and state. Kept live by polling
 * `sync_summary` with `all` (docs/console.md#live-sync-state): `refresh` answers the ids whose row
 * changed, and reloads the list when a tracker appears that it does not know.
 */
export class Fleet {
  rows: Row[] = [];
  byId = new Map<number, Row>();
  groups = new Map<number, string>();
  models: string[] = [];

  async load(): Promise<void> {
    const [trackers, groups, sync] = await Promise.all([
      call('tracker/list'),
      call('tracker/group/list'),
      call('tracker/settings/tracking/sync_summary', { all: true }),
    ]);
    this.groups = new Map((groups.list as { id: number; title: string }[]).map((g) => [g.id, g.title]));
    const rows: Row[] = (trackers.list as Answer[]).map((t) => {
      const groupId = Number(t.group_id ?? 0);
      const group = this.groups.get(groupId) ?? '';
      const source = (t.source ?? {}) as Answer;
      const label = String(t.label);
      const model = String(source.model ?? '');
      const deviceId = String(source.device_id ?? '');
      return {
        id: Number(t.id),
        label,
        model,
        groupId,
        group,
        deviceId,
        blocked: source.blocked === true,
        clone: t.clone === true,
        haystack: `${label}\n${deviceId}\n${model}\n${group}`.toLowerCase(),
        version: 0,
        state: 'none',
        changedAt: null,
      };
    });
    this.rows = rows;
    this.byId = new Map(rows.map((row) => [row.id, row]));
    this.models = [...new Set(rows.map((row) => row.model))].sort();
    this.apply(sync.list as SyncEntry[]);
  }

  /** The latest versions and states: the ids of the rows that changed, or `reloaded` when trackers came or went. */
  async refresh(): Promise<{ changed: number[]; reloaded: boolean }> {
    const sync = await call('tracker/settings/tracking/sync_summary', { all: true });
    const list = sync.list as SyncEntry[];
    if (list.some((entry) => !this.byId.has(entry.tracker_id)) || list.length !== this.rows.length) {
      await this.load();
      return { changed: this.rows.map((row) => row.id), reloaded: true };
    }
    return { changed: this.apply(list), reloaded: false };
  }

  private apply(list: readonly SyncEntry[]): number[] {
    const changed: number[] = [];
    for (const entry of list) {
      const row = this.byId.get(entry.tracker_id);
      if (row === undefined) continue;
      const state = row.blocked ? 'blocked' : entry.state;
      if (row.version !== entry.version || row.state !== state || row.changedAt !== entry.changed_at) {
        row.version = entry.version;
        row.state = state;
        row.changedAt = entry.changed_at;
        changed.push(row.id);
      }
    }
    return changed;
  }
}
