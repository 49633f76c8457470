import type { CompiledProfile, Settings } from '../profiles/index.js';
import type { SyncRow, TrackerRow } from '../store/index.js';
import type { SyncView } from './types.js';

/** The tracker object of tracker/list and tracker/read. */
export function trackerView(row: TrackerRow) {
  return {
    id: row.id,
    label: row.label,
    clone: row.clone_of !== null,
    source: { device_id: row.device_id, model: row.model, blocked: row.blocked === 1 },
  };
}

function parseObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  const value: unknown = JSON.parse(text);
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * The parsed JSON of a sync row, kept as long as the row object lives: the store serves the same
 * row object until the device's settings or state change, so a read parses nothing twice.
 */
const parsed = new WeakMap<SyncRow, { latest: Settings | undefined; reported: Settings | undefined; view?: SyncView }>();

function parsedOf(sync: SyncRow) {
  let entry = parsed.get(sync);
  if (!entry) {
    entry = { latest: parseObject(sync.settings), reported: parseObject(sync.reported) };
    parsed.set(sync, entry);
  }
  return entry;
}

/**
 * What the device runs by our record: the latest accepted version; before any, what the tracker last
 * reported less the fields its profile rejects; else the profile's defaults (SPEC §3).
 * The result may be shared: copy it before changing it.
 */
export function effectiveSettings(sync: SyncRow, profile: CompiledProfile): Settings {
  const { latest, reported } = parsedOf(sync);
  if (latest) return latest;
  if (reported) return profile.sanitize(reported);
  return profile.defaults;
}

/** The `sync` object of a row (shared between reads of the same row: do not mutate). */
export function syncView(sync: SyncRow): SyncView {
  const entry = parsedOf(sync);
  entry.view ??= buildSyncView(sync, entry.reported);
  return entry.view;
}

function buildSyncView(sync: SyncRow, reported: Settings | undefined): SyncView {
  return {
    version: sync.version,
    state: sync.state,
    ...(sync.changed_at !== null && { changed_at: sync.changed_at }),
    ...(sync.delivered_at !== null && { delivered_at: sync.delivered_at }),
    ...(sync.applied_at !== null && { applied_at: sync.applied_at }),
    ...(sync.reason !== null && { reason: sync.reason }),
    ...(reported !== undefined && { reported }),
  };
}
