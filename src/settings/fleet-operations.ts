import { ApiError, errorBody } from '../errors.js';
import type { Json } from '../json.js';
import type { ProfileRegistry, Settings } from '../profiles/index.js';
import type { Store, SyncState, TrackerRow, VersionSource } from '../store/index.js';
import { changeTarget, requireConfigureRight, settingsTarget, visibleTracker } from './access.js';
import { historyPage } from './fleet-history.js';
import { profileView } from './fleet-views.js';
import type { RequestMemory } from './request-memory.js';
import { changeOf, type Accepted, type Change, type SettingsWriter } from './settings-writer.js';
import type { Clock, Principal } from './types.js';

export interface UpdateRequest {
  readonly trackerId: number;
  readonly patch: Readonly<Record<string, unknown>>;
  readonly expectedVersion?: number | undefined;
  readonly requestId?: string | undefined;
  readonly dryRun?: boolean | undefined;
}

export interface RevertRequest {
  readonly trackerId: number;
  readonly version: number;
  readonly expectedVersion?: number | undefined;
}

/** Exactly one selector (docs/api.md#trackersettingstrackingbulk_update). */
export type BulkSelector = { readonly trackerIds: readonly number[] } | { readonly model: string } | { readonly groupId: number };

export interface BulkRequest {
  readonly selector: BulkSelector;
  readonly patch: Readonly<Record<string, unknown>>;
  readonly requestId?: string | undefined;
  readonly dryRun?: boolean | undefined;
}

/** One tracker of a bulk_update: a checked change, or the error update would have answered. */
type Target = { readonly trackerId: number; readonly change: Change } | { readonly trackerId: number; readonly failure: Json };

const STATES: readonly SyncState[] = ['none', 'pending', 'delivered', 'applied', 'rejected'];

/** A bulk_update result for a tracker whose update failed, as update's error answer says it. */
function failureOf(trackerId: number, err: unknown): Json {
  if (!(err instanceof ApiError)) throw err; // the database: the whole call fails
  return { tracker_id: trackerId, ...errorBody(err.def, err.errors) };
}

/**
 * The settings calls beyond read (docs/api.md#fleet-operations): update with its options, profile,
 * history, revert, bulk_update and sync_summary. Checks in the order of docs/api.md#order-of-checks.
 */
export class FleetOperations {
  constructor(
    private readonly store: Store,
    private readonly profiles: ProfileRegistry,
    private readonly writer: SettingsWriter,
    private readonly memory: RequestMemory,
    private readonly now: Clock,
  ) {}

  profile(principal: Principal, trackerId: number) {
    const { profile } = settingsTarget(this.profiles, visibleTracker(this.store, principal, trackerId));
    return { value: profileView(profile) };
  }

  history(principal: Principal, trackerId: number, limit: number, beforeVersion: number | undefined) {
    const { row } = settingsTarget(this.profiles, visibleTracker(this.store, principal, trackerId));
    return historyPage(this.store, row.device, limit, beforeVersion);
  }

  /** update with `expected_version`, `request_id` and `dry_run`; resolves to the answer's fields. */
  update(principal: Principal, request: UpdateRequest): Json | Promise<Json> {
    requireConfigureRight(principal);
    const { trackerId, patch, expectedVersion } = request;
    const requestId = request.dryRun ? undefined : request.requestId;
    const remembered =
      requestId === undefined
        ? undefined
        : this.remembered(principal, requestId, 'update', { tracker_id: trackerId, tracking_settings: patch, expected_version: expectedVersion });
    if (remembered?.answer) return remembered.answer;
    const target = changeTarget(this.profiles, visibleTracker(this.store, principal, trackerId));
    const change = this.change(principal, target, 'update', (current) => ({ ...current, ...patch }), expectedVersion);
    if (request.dryRun) return { dry_run: true, ...this.writer.preview(change) };
    return this.writer.commit(
      () => {
        const again = remembered && this.memory.recall(principal.userId, remembered.requestId, remembered.digest);
        if (again) return { answer: again };
        const accepted = this.writer.apply(change);
        const answer = { sync: this.writer.syncOf(accepted) };
        if (remembered) this.memory.remember(principal.userId, remembered.requestId, remembered.digest, answer);
        return { answer, accepted };
      },
      ({ answer, accepted }: { answer: Json; accepted?: Accepted }) => {
        if (accepted) this.writer.publish(accepted);
        return answer;
      },
      target.row.device,
    );
  }

  revert(principal: Principal, request: RevertRequest): Promise<Json> {
    requireConfigureRight(principal);
    const target = changeTarget(this.profiles, visibleTracker(this.store, principal, request.trackerId));
    const text = this.store.settings.versionSettings(target.row.device, request.version);
    if (text === undefined) throw new ApiError('invalidParameters', [{ parameter: 'version', error: 'is not a version of this tracker' }]);
    const old = JSON.parse(text) as Settings;
    const change = this.change(principal, target, 'revert', () => old, request.expectedVersion);
    return this.writer.commit(
      () => this.writer.apply(change),
      (accepted) => ({ sync: this.writer.publish(accepted) }),
      target.row.device,
    );
  }

  /**
   * Checks the call as a whole (13, request_id), then each tracker on its own exactly as update
   * would; all accepted versions commit in one transaction and are published after it.
   */
  bulkUpdate(principal: Principal, request: BulkRequest): Json | Promise<Json> {
    requireConfigureRight(principal);
    const { selector, patch } = request;
    const remembered = this.remembered(principal, request.dryRun ? undefined : request.requestId, 'bulk_update', {
      ...('trackerIds' in selector ? { tracker_ids: selector.trackerIds } : 'model' in selector ? { model: selector.model } : { group_id: selector.groupId }),
      tracking_settings: patch,
    });
    if (remembered?.answer) return remembered.answer;
    const merge = (current: Settings) => ({ ...current, ...patch });
    const targets = this.select(principal, selector).map(({ trackerId, row }): Target => {
      try {
        return {
          trackerId,
          change: this.change(principal, changeTarget(this.profiles, row ?? visibleTracker(this.store, principal, trackerId)), 'bulk', merge, undefined),
        };
      } catch (err) {
        return { trackerId, failure: failureOf(trackerId, err) };
      }
    });
    if (request.dryRun) {
      const results = targets.map((target) => {
        if ('failure' in target) return target.failure;
        try {
          return { tracker_id: target.trackerId, success: true, ...this.writer.preview(target.change) };
        } catch (err) {
          return failureOf(target.trackerId, err);
        }
      });
      return { dry_run: true, ...this.bulkAnswer(results) };
    }
    return this.writer.commit(
      () => {
        const again = remembered && this.memory.recall(principal.userId, remembered.requestId, remembered.digest);
        if (again) return { answer: again, accepted: [] };
        const accepted: Accepted[] = [];
        const results = targets.map((target) => {
          if ('failure' in target) return target.failure;
          try {
            const done = this.writer.applyRetried(target.change);
            accepted.push(done);
            return { tracker_id: target.trackerId, success: true, sync: this.writer.syncOf(done) };
          } catch (err) {
            return failureOf(target.trackerId, err);
          }
        });
        const answer = this.bulkAnswer(results);
        if (remembered) this.memory.remember(principal.userId, remembered.requestId, remembered.digest, answer);
        return { answer, accepted };
      },
      ({ answer, accepted }) => {
        for (const done of accepted) this.writer.publish(done);
        return answer;
      },
    );
  }

  /** `all`: `list` holds every selected tracker, applied and none too (the console's table, docs/api.md#trackersettingstrackingsync_summary). */
  syncSummary(principal: Principal, trackerIds: readonly number[] | undefined, all = false) {
    let rows = this.store.settings.trackerSync(principal.userId, principal.masterId !== null);
    if (trackerIds !== undefined) {
      const byId = new Map(rows.map((row) => [row.tracker_id, row]));
      rows = [...new Set(trackerIds)].map((id) => {
        const row = byId.get(id);
        if (!row) throw new ApiError('notFound');
        return row;
      });
    }
    const value = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<SyncState, number>;
    const list: Json[] = [];
    for (const row of rows) {
      value[row.state]++;
      if (all || (row.state !== 'applied' && row.state !== 'none')) {
        list.push({ tracker_id: row.tracker_id, version: row.version, state: row.state, changed_at: row.changed_at });
      }
    }
    return { value, list };
  }

  private change(
    principal: Principal,
    target: { row: TrackerRow; profile: Change['profile'] },
    source: VersionSource,
    settings: Change['settings'],
    expectedVersion: number | undefined,
  ): Change {
    return changeOf(principal, target, source, settings, expectedVersion, new Date(this.now()).toISOString());
  }

  /** The trackers of a selection, in order: given ids deduplicated (checked later), else the visible ones that match. */
  private select(principal: Principal, selector: BulkSelector): { trackerId: number; row?: TrackerRow }[] {
    if ('trackerIds' in selector) return [...new Set(selector.trackerIds)].map((trackerId) => ({ trackerId }));
    const subuser = principal.masterId !== null;
    const rows =
      'model' in selector
        ? this.store.trackers.visibleWithModel(principal.userId, subuser, selector.model)
        : this.store.trackers.visibleInGroup(principal.userId, subuser, selector.groupId);
    return rows.map((row) => ({ trackerId: row.id, row }));
  }

  private bulkAnswer(results: readonly Json[]): Json {
    const updated = results.filter((result) => result.success === true).length;
    return { results, summary: { total: results.length, updated, failed: results.length - updated } };
  }

  /**
   * For a call with a `request_id` (never a dry run): the digest of its parameters and, when this
   * user made the same call within 24 hours, the answer it got. 7 (`request_id`) for other parameters.
   */
  private remembered(principal: Principal, requestId: string | undefined, call: string, params: Json) {
    if (requestId === undefined) return undefined;
    const digest = this.memory.digest(call, params);
    return { requestId, digest, answer: this.memory.recall(principal.userId, requestId, digest) };
  }
}
