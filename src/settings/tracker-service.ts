import { ApiError, invalidParameters } from '../errors.js';
import type { CompiledProfile, ProfileRegistry, Settings } from '../profiles/index.js';
import type { Store, TrackerRow } from '../store/index.js';
import { RIGHT_CONFIGURE, type Clock, type ConfigPublisher, type Principal, type SyncView } from './types.js';
import { effectiveSettings, syncView, trackerView } from './views.js';

interface CheckedUpdate {
  readonly principal: Principal;
  readonly row: TrackerRow;
  readonly profile: CompiledProfile;
  readonly patch: Readonly<Record<string, unknown>>;
  readonly changedAt: string;
}

interface Accepted {
  readonly version: number;
  readonly settings: Settings;
}

interface Job {
  readonly update: CheckedUpdate;
  readonly resolve: (sync: SyncView) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome = { ok: true; accepted: Accepted } | { ok: false; err: unknown };

/**
 * The business rules of the tracker calls, checks in the order of docs/api.md#order-of-checks: right (13) → visible (201) →
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

  /**
   * `update` in its own transaction, committed before it returns (the CLI's demo seeding). It
   * publishes at once: only for a store whose commits are on disk when they return (the CLI's, at
   * synchronous=FULL), never the service's, whose WAL is flushed after the commit (Store.durable).
   */
  updateSettings(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): SyncView {
    const update = this.checkUpdate(principal, trackerId, patch);
    const accepted = this.store.transaction(() => this.apply(update));
    return this.published(update, accepted);
  }

  /**
   * `update` for the HTTP API: the checks run at once; the write joins the other updates that
   * arrive in the same event-loop turn and commits with them in one transaction (group commit:
   * one COMMIT and one WAL append for the batch instead of one each). Each update runs in its own
   * savepoint, so one that fails leaves the others as they would have been alone; each resolves
   * only after the batch's COMMIT, then its config is published. Versions of one device follow the
   * order the updates arrived in.
   */
  updateSettingsBatched(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): Promise<SyncView> {
    const update = this.checkUpdate(principal, trackerId, patch);
    return new Promise((resolve, reject) => {
      this.queued.push({ update, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => this.commitQueued());
    });
  }

  private readonly queued: Job[] = [];

  private commitQueued(): void {
    const batch = this.queued.splice(0);
    let outcomes: Outcome[];
    try {
      outcomes = this.store.transaction(() =>
        batch.map(({ update }) => {
          try {
            return { ok: true as const, accepted: this.store.transaction(() => this.apply(update)) };
          } catch (err) {
            return { ok: false as const, err };
          }
        }),
      );
    } catch (err) {
      for (const job of batch) job.reject(err); // the COMMIT failed: none of them is stored
      return;
    }
    // Published and answered only once the commit is on disk (see Store.durable).
    const durable = this.store.durable();
    if (!durable) return this.answer(batch, outcomes);
    durable.then(
      () => this.answer(batch, outcomes),
      (err: unknown) => {
        for (const job of batch) job.reject(err);
      },
    );
  }

  private answer(batch: readonly Job[], outcomes: readonly Outcome[]): void {
    for (const [i, outcome] of outcomes.entries()) {
      const job = batch[i]!;
      if (!outcome.ok) {
        job.reject(outcome.err);
        continue;
      }
      try {
        job.resolve(this.published(job.update, outcome.accepted));
      } catch (err) {
        job.reject(err);
      }
    }
  }

  /** The checks before any write: right (13) → visible (201) → blocked (208) → profile (214) → clone (219). */
  private checkUpdate(principal: Principal, trackerId: number, patch: Readonly<Record<string, unknown>>): CheckedUpdate {
    if (principal.masterId !== null && !principal.rights.has(RIGHT_CONFIGURE)) throw new ApiError('notPermitted');
    const { row, profile } = this.configurable(principal, trackerId);
    if (row.clone_of !== null) throw new ApiError('notForClones');
    return { principal, row, profile, patch, changedAt: new Date(this.now()).toISOString() };
  }

  /** Validates (7) against the latest version and appends the next one. Call inside a transaction. */
  private apply({ principal, row, profile, patch, changedAt }: CheckedUpdate): Accepted {
    const sync = this.store.settings.sync(row.device);
    const result = profile.validate({ ...effectiveSettings(sync, profile), ...patch });
    if (!result.ok) {
      throw invalidParameters(result.errors.map((e) => ({ parameter: `tracking_settings.${e.field}`, error: e.error })));
    }
    const version = sync.version + 1;
    this.store.settings.appendVersion(row.device, version, JSON.stringify(result.value), principal.userId, changedAt);
    return { version, settings: result.value };
  }

  /** After the commit: hand the new version to the broker; the `sync` answer of update. */
  private published({ row, profile, changedAt }: CheckedUpdate, accepted: Accepted): SyncView {
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
