import type { Json } from '../json.js';
import type { Settings } from '../profiles/index.js';
import type { Store, VersionRow } from '../store/index.js';
import { changesBetween } from './fleet-views.js';

/**
 * One page of a device's history, newest first (docs/api.md#trackersettingstrackinghistory): at most
 * `limit` versions below `beforeVersion` (all when undefined), read through the (device, version)
 * index whatever the number of versions.
 */
export function historyPage(store: Store, device: number, limit: number, beforeVersion: number | undefined) {
  const sync = store.settings.sync(device);
  const top = beforeVersion === undefined ? sync.version : Math.min(sync.version, beforeVersion - 1);
  if (top < 1) return { list: [] };
  const bottom = Math.max(1, top - limit + 1);
  // One row below the page (its settings give the bottom entry's changes) and one above (its
  // prior_* columns hold the outcome of the top entry when that is not the latest version).
  const rows = new Map<number, VersionRow>();
  for (const version of store.settings.versionRange(device, Math.max(1, bottom - 1), top + 1)) rows.set(version.version, version);
  const parsed = new Map<number, Settings>();
  const settingsOf = (version: number): Settings | undefined => {
    const stored = rows.get(version);
    if (!stored) return undefined;
    let settings = parsed.get(version);
    if (!settings) parsed.set(version, (settings = JSON.parse(stored.settings) as Settings));
    return settings;
  };
  const list: Json[] = [];
  for (let version = top; version >= bottom; version--) {
    const stored = rows.get(version);
    if (!stored) continue;
    const settings = settingsOf(version)!;
    const next = rows.get(version + 1);
    const outcome =
      version === sync.version
        ? { state: sync.state, delivered_at: sync.delivered_at, applied_at: sync.applied_at, reason: sync.reason }
        : {
            state: next?.prior_state ?? 'superseded',
            delivered_at: next?.prior_delivered_at ?? null,
            applied_at: next?.prior_applied_at ?? null,
            reason: next?.prior_reason ?? null,
          };
    list.push({
      version,
      settings,
      changes: changesBetween(version === 1 ? undefined : settingsOf(version - 1), settings),
      changed_at: stored.changed_at,
      author: { user_id: stored.changed_by, login: stored.login },
      source: stored.source,
      state: outcome.state,
      ...(outcome.delivered_at !== null && { delivered_at: outcome.delivered_at }),
      ...(outcome.applied_at !== null && { applied_at: outcome.applied_at }),
      ...(outcome.reason !== null && { reason: outcome.reason }),
    });
  }
  return { list, ...(bottom > 1 && { next_before_version: bottom }) };
}
