import type { CompiledProfile, Settings } from '../profiles/index.js';
import type { GroupRow, SyncRow, TrackerRow } from '../store/index.js';
import { navixyDateTime } from '../store/time.js';
import type { SyncView } from './types.js';
import { isObject } from '../json.js';

/**
 * Navixy's tracker object (tracker/list, tracker/read) with the neutral values of what trackconf keeps
 * no record of: no tariff (`tariff_id` 0, `tariff_end_date` null), no status listing, no tags
 * (docs/api.md#the-tracker-object).
 */
export function trackerView(row: TrackerRow) {
  return {
    id: row.id,
    label: row.label,
    group_id: row.group_id ?? 0,
    clone: row.clone_of !== null,
    source: {
      id: row.device,
      device_id: row.device_id,
      model: row.model,
      blocked: row.blocked === 1,
      tariff_id: 0,
      status_listing_id: null,
      creation_date: row.device_created_at,
      tariff_end_date: null,
      phone: row.phone,
    },
    tag_bindings: [],
  };
}

/** A group of tracker/group/list. */
export function groupView(row: GroupRow) {
  return { id: row.id, title: row.title, color: row.color };
}

/**
 * Navixy's `user_info` (user/get_info): trackconf keeps a login and a creation time; every other field
 * has a neutral value (docs/api.md#userget_info).
 */
export function userInfoView(user: { readonly id: number; readonly login: string }, createdAt: string) {
  return {
    id: user.id,
    login: user.login,
    title: user.login,
    first_name: '',
    middle_name: '',
    last_name: '',
    legal_type: 'individual',
    phone: '',
    creation_date: navixyDateTime(createdAt),
    locale: 'en_US',
    time_zone: 'UTC',
    demo: false,
    verified: true,
  };
}

function parseObject(text: string | null): Record<string, unknown> | undefined {
  if (text === null) return undefined;
  const value: unknown = JSON.parse(text);
  return isObject(value) ? value : undefined;
}

/**
 * The parsed JSON of a sync row, kept as long as the row object lives: the store serves the same
 * row object until the device's settings or state change, so a read parses nothing twice.
 */
interface Parsed {
  readonly latest: Settings | undefined;
  readonly reported: Settings | undefined;
  view?: SyncView;
  /** `reported` less the fields `profile` rejects (rows of one device share a profile; checked anyway). */
  sanitized?: { readonly profile: CompiledProfile; readonly settings: Settings };
}

const parsed = new WeakMap<SyncRow, Parsed>();

function parsedOf(sync: SyncRow): Parsed {
  let entry = parsed.get(sync);
  if (!entry) {
    entry = { latest: parseObject(sync.settings), reported: parseObject(sync.reported) };
    parsed.set(sync, entry);
  }
  return entry;
}

/**
 * What the device runs by our record: the latest accepted version; before any, what the tracker last
 * reported less the fields its profile rejects; else the profile's defaults (docs/api.md#effective-settings-before-any-update).
 * The result may be shared: copy it before changing it.
 */
export function effectiveSettings(sync: SyncRow, profile: CompiledProfile): Settings {
  const entry = parsedOf(sync);
  if (entry.latest) return entry.latest;
  if (!entry.reported) return profile.defaults;
  // Kept with the row (rows and profiles are immutable): the same object for every read, so the
  // read answer's text below stays cached too.
  if (entry.sanitized?.profile !== profile) entry.sanitized = { profile, settings: profile.sanitize(entry.reported) };
  return entry.sanitized.settings;
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

/**
 * The JSON text of a settings read's success answer, exactly `JSON.stringify({ success: true,
 * ...result })` (key order success, value, sync), kept per `sync` view (one per row object) for the
 * `value` it was made with: a read of an unchanged tracker serializes nothing. Both objects are
 * immutable and shared while the row lives, so the text cannot go stale.
 */
const answers = new WeakMap<SyncView, { readonly value: Settings; readonly text: string }>();

export function settingsAnswer(result: { readonly value: Settings; readonly sync: SyncView }): string {
  const cached = answers.get(result.sync);
  if (cached !== undefined && cached.value === result.value) return cached.text;
  const text = JSON.stringify({ success: true, ...result });
  answers.set(result.sync, { value: result.value, text });
  return text;
}
