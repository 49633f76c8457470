import { ApiError, invalidParameters } from '../errors.js';
import type { CompiledProfile, ProfileRegistry, Settings } from '../profiles/index.js';
import type { Store, TrackerRow } from '../store/index.js';
import { RIGHT_CONFIGURE, type Clock, type ConfigPublisher, type Principal, type SyncView } from './types.js';
import { effectiveSettings, syncView, trackerView } from './views.js';

/**
 * The business rules of the tracker calls, checks in SPEC §3's order: right (13) → visible (201) →
 * blocked (208) → has a profile (214) → not a clone, for update (219) → settings valid (7).
 */
export class TrackerService {
  private readonly now: Clock;

  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileRegistry,
    private readonly publisher: ConfigPublisher,
    clock?: Clock,
  ) {
    this.now = clock ?? Date.now;
  }

  list(principal: Principal) {
    const rows =
      principal.masterId === null
        ? this.store.trackers.listForOwner(principal.userId)
        : this.store.trackers.listForSubuser(principal.userId);
    return rows.map(trackerView);
  }

  read(principal: Principal, trackerId: number) {
    return trackerView(this.visible(principal, trackerId));
  }

  readSettings(principal: Principal, trackerId: number): { value: Settings; sync: SyncView } {
    const tracker = this.configurable(principal, trackerId);
    const sync = this.store.settings.sync(tracker.row.device);
    return { value: effectiveSettings(sync, tracker.profile), sync: syncView(sync) };
  }

  updateSettings(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): SyncView {
    if (principal.masterId !== null && !principal.rights.has(RIGHT_CONFIGURE)) throw new ApiError('notPermitted');
    const { row, profile } = this.configurable(principal, trackerId);
    if (row.clone_of !== null) throw new ApiError('notForClones');
    const changedAt = new Date(this.now()).toISOString();
    const accepted = this.store.transaction(() => {
      const sync = this.store.settings.sync(row.device);
      const result = profile.validate({ ...effectiveSettings(sync, profile), ...patch });
      if (!result.ok) {
        throw invalidParameters(
          result.errors.map((e) => ({ parameter: `tracking_settings.${e.field}`, error: e.error })),
        );
      }
      const version = sync.version + 1;
      this.store.settings.appendVersion(row.device, version, JSON.stringify(result.value), principal.userId, changedAt);
      return { version, settings: result.value };
    });
    this.publisher.publishConfig(row.device_id, {
      version: accepted.version,
      profile: profile.code,
      settings: accepted.settings,
      changed_at: changedAt,
    });
    return { version: accepted.version, state: 'pending', changed_at: changedAt };
  }

  private visible(principal: Principal, trackerId: number): TrackerRow {
    const row = this.store.trackers.findTracker(trackerId);
    const visible =
      row !== undefined &&
      (principal.masterId === null
        ? row.owner_id === principal.userId
        : this.store.trackers.isBoundTo(principal.userId, trackerId));
    if (!visible) throw new ApiError('notFound');
    return row;
  }

  private configurable(principal: Principal, trackerId: number): { row: TrackerRow; profile: CompiledProfile } {
    const row = this.visible(principal, trackerId);
    if (row.blocked === 1) throw new ApiError('deviceBlocked');
    const profile = row.tracking_profile === null ? undefined : this.profiles.get(row.tracking_profile);
    if (!profile) throw new ApiError('notSupported');
    return { row, profile };
  }
}
