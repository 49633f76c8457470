import { ApiError, invalidParameters } from '../errors.js';
import type { Settings } from '../profiles/index.js';
import type { Store, SyncRow, VersionSource } from '../store/index.js';
import type { SettingsTarget } from './access.js';
import { changesBetween, type Changes } from './fleet-views.js';
import { NO_LOG, type ConfigPublisher, type Principal, type ServiceLog, type SyncView } from './types.js';
import { effectiveSettings, syncView } from './views.js';

/** One checked change of a device's settings, waiting for its transaction. */
export interface Change extends SettingsTarget {
  readonly principal: Principal;
  /** The complete settings to validate, made from the device's current ones (shared: never mutate them). */
  readonly settings: (current: Settings) => Readonly<Record<string, unknown>>;
  readonly source: VersionSource;
  /** 1001 unless the device's latest version is this one (docs/api.md#version-conflicts). */
  readonly expectedVersion: number | undefined;
  readonly changedAt: string;
}

/** A change of `target`'s settings by `principal`, made at `changedAt`. */
export function changeOf(
  principal: Principal,
  target: SettingsTarget,
  source: VersionSource,
  settings: Change['settings'],
  expectedVersion: number | undefined,
  changedAt: string,
): Change {
  // Named fields, not `...target`: V8 builds a spread followed by fields on its slow path (~3 µs a call).
  const { row, profile } = target;
  return { row, profile, principal, settings, source, expectedVersion, changedAt };
}

export interface Accepted {
  readonly change: Change;
  readonly version: number;
  readonly settings: Settings;
}

/** What a dry run answers for one tracker (docs/api.md#dry-runs). */
export interface Preview {
  readonly value: Settings;
  readonly changes: Changes;
  readonly sync: { readonly version: number; readonly state: 'none' };
}

interface Job {
  /** The device the write locks (its rows), or undefined for one that touches several. */
  readonly device: number | undefined;
  readonly write: () => unknown;
  readonly after: (written: unknown) => unknown;
  readonly resolve: (answer: unknown) => void;
  readonly reject: (err: unknown) => void;
}

/** Tries of one change when other nodes keep writing the same device first (docs/scaling.md#versions). */
const MAX_ATTEMPTS = 10;

/** Thrown out of a batch's transaction to roll all of it back and run it again. */
class BatchAgain extends Error {}

type Outcome = { ok: true; written: unknown } | { ok: false; err: unknown };

/**
 * Writes settings versions: validation against the latest version, group commit, then publishing.
 * Every change of every call (update, revert, bulk_update) goes through the one queue, so the
 * versions of a device and their configs follow the order the calls arrived in.
 */
export class SettingsWriter {
  private readonly queued: Job[] = [];

  constructor(
    private readonly store: Store,
    private readonly publisher: ConfigPublisher,
    /** One info line per accepted version (docs/operations.md#logs). */
    private readonly log: ServiceLog = NO_LOG,
  ) {}

  /** A dry run: every check `apply` makes, nothing written. */
  preview(change: Change): Preview {
    const { sync, value } = this.evaluate(change);
    return {
      value,
      changes: changesBetween(sync.version === 0 ? undefined : effectiveSettings(sync, change.profile), value),
      sync: { version: sync.version + 1, state: 'none' },
    };
  }

  /** Checks (1001, 7) against the latest version and appends the next one. Call inside a transaction. */
  apply(change: Change): Accepted {
    const { sync, value } = this.evaluate(change, this.store.settings.syncForNewVersion(change.row.device));
    const version = sync.version + 1;
    this.store.settings.appendVersion(change.row.device, version, JSON.stringify(value), change.principal.userId, change.changedAt, change.source, sync);
    return { change, version, settings: value };
  }

  /** The `sync` update answers for an accepted version. */
  syncOf(accepted: Accepted): SyncView {
    return { version: accepted.version, state: 'pending', changed_at: accepted.change.changedAt };
  }

  /** After the commit is durable: hands the new version to the broker. */
  publish(accepted: Accepted): SyncView {
    const { row, profile, changedAt, principal } = accepted.change;
    this.log.info(
      { tracker: row.id, device: row.device_id, version: accepted.version, user: principal.userId, login: principal.login },
      'settings update accepted',
    );
    this.publisher.publishConfig(row.device_id, {
      version: accepted.version,
      profile: profile.code,
      settings: accepted.settings,
      changed_at: changedAt,
    });
    return this.syncOf(accepted);
  }

  /**
   * Group commit: `write` joins the other writes that arrive in the same event-loop turn and commits
   * with them in one transaction (one COMMIT and one WAL append for the batch), each in its own
   * savepoint so one that fails leaves the others as they would have been alone. Once the commit
   * is on disk (Store.durable), `after` runs (publishing) in arrival order and its result resolves.
   */
  commit<W, R>(write: () => W, after: (written: W) => R, device?: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queued.push({
        device,
        write,
        after: after as (written: unknown) => unknown,
        resolve: resolve as (answer: unknown) => void,
        reject,
      });
      if (this.queued.length === 1) setImmediate(() => this.commitQueued());
    });
  }

  private evaluate(change: Change, sync = this.store.settings.sync(change.row.device)): { sync: SyncRow; value: Settings } {
    if (change.expectedVersion !== undefined && change.expectedVersion !== sync.version) {
      throw new ApiError('versionConflict', undefined, { sync: syncView(sync) });
    }
    const result = change.profile.validate(change.settings(effectiveSettings(sync, change.profile)));
    if (!result.ok) {
      throw invalidParameters(result.errors.map((e) => ({ parameter: `tracking_settings.${e.field}`, error: e.error })));
    }
    return { sync, value: result.value };
  }

  private commitQueued(): void {
    const batch = this.queued.splice(0);
    // the trackers' queued answers first, on their own: inside the batch they would lock their devices'
    // rows out of the batch's device order (docs/scaling.md#versions)
    this.store.settings.flushPending();
    let outcomes: Outcome[] | undefined;
    for (let round = 1; outcomes === undefined; round++) {
      try {
        const done = new Array<Outcome>(batch.length);
        this.store.transaction(() => {
          for (const i of this.writeOrder(batch)) done[i] = this.retried(batch[i]!.write, round);
        });
        outcomes = done;
      } catch (err) {
        if (err instanceof BatchAgain) continue;
        for (const job of batch) job.reject(err); // the COMMIT failed: none of them is stored
        return;
      }
    }
    // Published and answered only once the commit is on disk (see Store.durable).
    const durable = this.store.durable();
    if (!durable) return this.finish(batch, outcomes);
    durable.then(
      () => this.finish(batch, outcomes),
      (err: unknown) => {
        for (const job of batch) job.reject(err);
      },
    );
  }

  /**
   * Runs `write` in a savepoint; when another node took the version number first (Store.retryable)
   * it runs again on the device's new latest version.
   */
  private retried(write: () => unknown, round = MAX_ATTEMPTS): Outcome {
    for (let attempt = 1; ; attempt++) {
      try {
        return { ok: true, written: this.store.transaction(write) };
      } catch (err) {
        if (err instanceof BatchAgain) throw err;
        const retry = this.store.retryable(err);
        // a deadlock with another node's transaction: only rolling back all of this one frees what it waits for
        if (retry === 'transaction' && round < MAX_ATTEMPTS) throw new BatchAgain();
        // another node took this version number first: read the device again and take the next one
        if (retry === 'write' && attempt < MAX_ATTEMPTS) continue;
        return { ok: false, err };
      }
    }
  }

  /**
   * The order the batch's writes run in. With several nodes on one database, two batches that lock
   * the same devices in different orders would deadlock (docs/scaling.md#versions): the writes run
   * by device, a device's own in arrival order; answers and publishes keep the arrival order.
   */
  private writeOrder(batch: readonly Job[]): number[] {
    const order = batch.map((_, i) => i);
    if (this.store.backend !== 'postgres' || batch.length < 2) return order;
    return order.sort((a, b) => (batch[a]!.device ?? -1) - (batch[b]!.device ?? -1) || a - b);
  }

  /** One change in its own savepoint, run again when another node took its version number first. */
  applyRetried(change: Change): Accepted {
    const outcome = this.retried(() => this.apply(change));
    if (!outcome.ok) throw outcome.err;
    return outcome.written as Accepted;
  }

  private finish(batch: readonly Job[], outcomes: readonly Outcome[]): void {
    for (const [i, outcome] of outcomes.entries()) {
      const job = batch[i]!;
      if (!outcome.ok) {
        job.reject(outcome.err);
        continue;
      }
      try {
        job.resolve(job.after(outcome.written));
      } catch (err) {
        job.reject(err);
      }
    }
  }
}
