import type { ProfileRegistry, Settings } from '../profiles/index.js';
import type { Store, TrackerRow } from '../store/index.js';
import { changeTarget, requireConfigureRight, settingsTarget, visibleTracker, type SettingsTarget } from './access.js';
import { FleetOperations } from './fleet-operations.js';
import { RequestMemory } from './request-memory.js';
import { changeOf, SettingsWriter, type Change } from './settings-writer.js';
import { NO_LOG, type Clock, type ConfigPublisher, type Principal, type ServiceLog, type SyncView } from './types.js';
import { effectiveSettings, groupView, syncView, trackerView } from './views.js';

/**
 * The business rules of the tracker calls, checks in the order of docs/api.md#order-of-checks: right (13) → visible (201) →
 * blocked (208) → has a profile (214) → not a clone, for update (219) → settings valid (7).
 */
export class TrackerService {
  private readonly now: Clock;
  private readonly writer: SettingsWriter;
  /** update's options, profile, history, revert, bulk_update, sync_summary (docs/api.md#fleet-operations). */
  readonly fleet: FleetOperations;

  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileRegistry,
    publisher: ConfigPublisher,
    clock?: Clock,
    /** One info line per accepted update (docs/operations.md#logs). */
    log: ServiceLog = NO_LOG,
  ) {
    this.now = clock ?? Date.now;
    this.writer = new SettingsWriter(store, publisher, log);
    this.fleet = new FleetOperations(store, profiles, this.writer, new RequestMemory(store, this.now), this.now);
  }

  /** With `labels`: only the trackers whose label contains any of them, case-insensitive. */
  list(principal: Principal, labels?: readonly string[]) {
    const rows = principal.masterId === null ? this.store.trackers.listForOwner(principal.userId) : this.store.trackers.listForSubuser(principal.userId);
    if (labels === undefined) return rows.map(trackerView);
    const wanted = labels.map((label) => label.toLowerCase());
    return rows
      .filter((row) => {
        const label = row.label.toLowerCase();
        return wanted.some((part) => label.includes(part));
      })
      .map(trackerView);
  }

  /** The caller's tracker groups; a sub-user's are its master's. */
  listGroups(principal: Principal) {
    return this.store.groups.listForOwner(principal.masterId ?? principal.userId).map(groupView);
  }

  read(principal: Principal, trackerId: number) {
    return trackerView(this.visible(principal, trackerId));
  }

  readSettings(principal: Principal, trackerId: number): { value: Settings; sync: SyncView } {
    const tracker = this.configurable(principal, trackerId);
    const sync = this.store.settings.sync(tracker.row.device);
    return { value: effectiveSettings(sync, tracker.profile), sync: syncView(sync) };
  }

  /**
   * `update` in its own transaction, committed before it returns (the CLI's demo seeding). It
   * publishes at once: only for a store whose commits are on disk when they return (the CLI's, at
   * synchronous=FULL), never the service's, whose WAL is flushed after the commit (Store.durable).
   */
  updateSettings(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): SyncView {
    const change = this.checkUpdate(principal, trackerId, patch);
    const accepted = this.store.transaction(() => this.writer.applyRetried(change));
    return this.writer.publish(accepted);
  }

  /** The checks before any write: right (13) → visible (201) → blocked (208) → profile (214) → clone (219). */
  private checkUpdate(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): Change {
    requireConfigureRight(principal);
    const target = changeTarget(this.profiles, this.visible(principal, trackerId));
    return changeOf(principal, target, 'update', (current) => ({ ...current, ...patch }), undefined, new Date(this.now()).toISOString());
  }

  private visible(principal: Principal, trackerId: number): TrackerRow {
    return visibleTracker(this.store, principal, trackerId);
  }

  private configurable(principal: Principal, trackerId: number): SettingsTarget {
    return settingsTarget(this.profiles, this.visible(principal, trackerId));
  }
}
