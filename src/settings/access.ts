import { ApiError } from '../errors.js';
import type { CompiledProfile, ProfileRegistry } from '../profiles/index.js';
import type { Store, TrackerRow } from '../store/index.js';
import { RIGHT_CONFIGURE, type Principal } from './types.js';

/** A tracker whose settings a call may read: its row and its model's tracking profile. */
export interface SettingsTarget {
  readonly row: TrackerRow;
  readonly profile: CompiledProfile;
}

/** 13: a sub-user needs the right `tracker_configure` to change settings (masters have every right). */
export function requireConfigureRight(principal: Principal): void {
  if (principal.masterId !== null && !principal.rights.has(RIGHT_CONFIGURE)) throw new ApiError('notPermitted');
}

/** 201: the tracker exists and is the caller's (a sub-user: bound to it). */
export function visibleTracker(store: Store, principal: Principal, trackerId: number): TrackerRow {
  const row = store.trackers.findTracker(trackerId);
  const visible =
    row !== undefined && (principal.masterId === null ? row.owner_id === principal.userId : store.trackers.isBoundTo(principal.userId, trackerId));
  if (!visible) throw new ApiError('notFound');
  return row;
}

/** 208 → 214: the device is not blocked and its model has a tracking profile. */
export function settingsTarget(profiles: ProfileRegistry, row: TrackerRow): SettingsTarget {
  if (row.blocked === 1) throw new ApiError('deviceBlocked');
  const profile = row.tracking_profile === null ? undefined : profiles.get(row.tracking_profile);
  if (!profile) throw new ApiError('notSupported');
  return { row, profile };
}

/** 208 → 214 → 219: as `settingsTarget`, and the tracker is not a clone (clones may only read). */
export function changeTarget(profiles: ProfileRegistry, row: TrackerRow): SettingsTarget {
  const target = settingsTarget(profiles, row);
  if (row.clone_of !== null) throw new ApiError('notForClones');
  return target;
}
