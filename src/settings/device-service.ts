import { digestMatches, TOKEN_PATTERN, digest } from '../auth/crypto.js';
import type { Store } from '../store/index.js';
import type { AuthService } from './auth-service.js';
import { RateLimiter } from '../rate-limit.js';
import { NO_ANSWER_LIMITS, type AnswerLimits } from './answer-limits.js';
import { ackPayload, parsePayload, reportedPayload } from './device-schemas.js';
import { NO_LOG, type Clock, type ConfigMessage, type ServiceLog, type SyncChange } from './types.js';

export type TrackerLogin = 'ok' | 'unknown' | 'bad-secret' | 'blocked';
/** `limited`: over the device's answer budget, dropped unread (docs/mqtt.md#limits-on-what-a-tracker-sends). */
export type AnswerOutcome = 'applied' | 'rejected' | 'stale' | 'reported' | 'malformed' | 'limited';

/** A platform user connected over MQTT to watch config topics. */
export interface Observer {
  readonly userId: number;
  readonly subuser: boolean;
}

/** What trackers sent that was recorded, stale or dropped (kept in memory for tests and operators). */
export interface DeviceCounters {
  acksApplied: number;
  acksRejected: number;
  acksStale: number;
  reported: number;
  malformed: number;
  limited: number;
}

/**
 * The tracker side of the business rules (docs/mqtt.md): who may connect, what a tracker's latest config
 * is, and what its answers change. Knows nothing of MQTT: the broker calls it with device ids and bytes.
 */
export interface DeviceServiceOptions {
  readonly clock?: Clock;
  /** One info line per sync state change (docs/operations.md#logs). */
  readonly log?: ServiceLog;
  /** Hears every sync state change after it is written (the metrics' latency histograms). */
  readonly onSyncChange?: (change: SyncChange) => void;
  /** What one device may send (docs/mqtt.md#limits-on-what-a-tracker-sends); none unless given. */
  readonly answerLimits?: AnswerLimits;
}

export class DeviceService {
  readonly counters: DeviceCounters = { acksApplied: 0, acksRejected: 0, acksStale: 0, reported: 0, malformed: 0, limited: 0 };
  private readonly now: Clock;
  /**
   * Answers per device: `burst` at once, then `perSecond`; idle for a minute, forgotten. Counted by
   * this node also when several serve: a tracker is connected to one node at a time (docs/api.md#limits).
   */
  private readonly budget: RateLimiter;
  private readonly limits: AnswerLimits;
  private readonly log: ServiceLog;
  private readonly onSyncChange: ((change: SyncChange) => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly auth: AuthService,
    options: DeviceServiceOptions = {},
  ) {
    this.now = options.clock ?? Date.now;
    this.log = options.log ?? NO_LOG;
    this.onSyncChange = options.onSyncChange;
    this.limits = options.answerLimits ?? NO_ANSWER_LIMITS;
    this.budget = new RateLimiter(this.limits.perSecond, this.now, { burst: this.limits.burst, idleMs: 60_000 });
  }

  /** A state change is written: logged and passed on. */
  private changed(deviceId: string, version: number, state: SyncChange['state'], changedAt: string, at: number, reason: string | null): void {
    const change: SyncChange = { deviceId, version, state, acceptedAt: Date.parse(changedAt), at, reason };
    this.log.info({ device: deviceId, version, state, ...(reason !== null && { reason }) }, 'tracker sync state changed');
    this.onSyncChange?.(change);
  }

  isDevice(deviceId: string): boolean {
    return this.store.trackers.findDevice(deviceId) !== undefined;
  }

  /** Checked against the store on every connect: an import while running takes effect at once. */
  loginTracker(deviceId: string, secret: string): TrackerLogin {
    const device = this.store.trackers.findDevice(deviceId);
    if (!device) return 'unknown';
    if (!digestMatches(secret, device.secret_digest)) return 'bad-secret';
    return device.blocked === 1 ? 'blocked' : 'ok';
  }

  isBlocked(deviceId: string): boolean {
    return this.store.trackers.findDevice(deviceId)?.blocked === 1;
  }

  /** A platform user by login and password (throttled like user/auth), or login and one of its API keys. */
  async loginObserver(login: string, password: string): Promise<Observer | 'throttled' | 'busy' | undefined> {
    const user = this.store.users.findByLogin(login);
    if (user && TOKEN_PATTERN.test(password) && this.store.users.findApiKeyOwner(digest(password)) === user.id) {
      return { userId: user.id, subuser: user.master_id !== null };
    }
    const checked = await this.auth.checkPassword(login, password);
    if (checked === 'throttled' || checked === 'busy') return checked;
    return checked ? { userId: checked.id, subuser: checked.master_id !== null } : undefined;
  }

  /** Device ids behind the trackers an observer may see (its own and clones; a sub-user's bound ones). */
  visibleDevices(observer: Observer): Set<string> {
    return new Set(this.store.trackers.visibleDeviceIds(observer.userId, observer.subuser));
  }

  /** See Store.settingsDurable: a config read from the database is sent to a tracker only once this settles. */
  durable(): Promise<void> | undefined {
    return this.store.settingsDurable();
  }

  /** The store's freshness epoch: it moves when another process (another node) commits. */
  freshness(): number {
    return this.store.freshness.current('versions');
  }

  latestConfig(deviceId: string): ConfigMessage | undefined {
    const row = this.store.settings.latestConfig(deviceId);
    return row && this.toMessage(row);
  }

  private toMessage(row: { version: number; settings: string; changed_at: string; tracking_profile: string | null }): ConfigMessage {
    return {
      version: row.version,
      profile: row.tracking_profile ?? '',
      settings: JSON.parse(row.settings) as ConfigMessage['settings'],
      changed_at: row.changed_at,
    };
  }

  /** The tracker's session acknowledged (PUBACK) the message of `version`. */
  delivered(deviceId: string, version: number): void {
    const device = this.store.trackers.findDevice(deviceId);
    if (!device) return;
    const at = this.now();
    this.store.settings.delivered(device.id, version, new Date(at).toISOString(), (changedAt) =>
      this.changed(deviceId, version, 'delivered', changedAt, at, null),
    );
  }

  /**
   * `…/ack`: applied or rejected for the current version; an older version is recorded as stale.
   * Judged now; written with the other answers of this event-loop turn (SettingsRepository.defer).
   */
  ack(deviceId: string, payload: Buffer): AnswerOutcome {
    if (!this.budget.take(deviceId)) return this.limited();
    const ack = parsePayload(ackPayload, payload, this.limits.maxDepth);
    const device = this.store.trackers.findDevice(deviceId);
    if (!ack || !device) return this.malformed();
    const current = this.store.settings.currentVersion(device.id);
    if (ack.version > current) return this.malformed();
    const stale = ack.version < current;
    const now = this.now();
    const at = new Date(now).toISOString();
    const reason = ack.reason ?? null;
    this.store.settings.defer(() => {
      this.store.settings.recordAck(device.id, ack.version, ack.status, reason, stale, at, this.limits.acksKept);
      if (stale) return;
      const changedAt = this.store.settings.answered(device.id, ack.version, ack.status, reason, at);
      if (ack.settings) this.store.settings.reported(device.id, JSON.stringify(ack.settings), at);
      if (changedAt !== undefined) this.changed(deviceId, ack.version, ack.status, changedAt, now, reason);
    });
    if (stale) {
      this.counters.acksStale++;
      return 'stale';
    }
    if (ack.status === 'applied') this.counters.acksApplied++;
    else this.counters.acksRejected++;
    return ack.status;
  }

  /** `…/reported`: what the tracker runs now; shown in `sync` and used before any update. */
  reported(deviceId: string, payload: Buffer): AnswerOutcome {
    if (!this.budget.take(deviceId)) return this.limited();
    const reported = parsePayload(reportedPayload, payload, this.limits.maxDepth);
    const device = this.store.trackers.findDevice(deviceId);
    if (!reported || !device) return this.malformed();
    const at = new Date(this.now()).toISOString();
    this.store.settings.defer(() => this.store.settings.reported(device.id, JSON.stringify(reported.settings), at));
    this.counters.reported++;
    return 'reported';
  }

  private limited(): 'limited' {
    this.counters.limited++;
    return 'limited';
  }

  private malformed(): 'malformed' {
    this.counters.malformed++;
    return 'malformed';
  }

  /** Device ids that are blocked now (the broker disconnects their trackers). */
  blockedDevices(): Set<string> {
    return new Set(this.store.trackers.blockedDeviceIds());
  }
}
