import type { Settings } from '../profiles/index.js';
import type { SyncState } from '../store/index.js';

/** Who is calling: a user (master or sub-user) through a session or an API key. */
export interface Principal {
  readonly userId: number;
  readonly login: string;
  /** null for a master account. */
  readonly masterId: number | null;
  readonly rights: ReadonlySet<string>;
  /** The session's digest when the credential is a session hash (logout ends it); null for an API key. */
  readonly sessionDigest: Buffer | null;
}

export const RIGHT_CONFIGURE = 'tracker_configure';

/** The `sync` object (docs/api.md#the-sync-object). */
export interface SyncView {
  readonly version: number;
  readonly state: SyncState;
  readonly changed_at?: string;
  readonly delivered_at?: string;
  readonly applied_at?: string;
  readonly reason?: string;
  readonly reported?: Settings;
}

/** The retained config message (docs/mqtt.md#config-message-service--tracker). */
export interface ConfigMessage {
  readonly version: number;
  readonly profile: string;
  readonly settings: Settings;
  readonly changed_at: string;
}

/**
 * The narrow seam to whatever delivers settings to trackers (the MQTT broker). Called after the
 * database commit; must not throw for a tracker that is offline.
 */
export interface ConfigPublisher {
  publishConfig(deviceId: string, message: ConfigMessage): void;
}

export const NO_PUBLISHER: ConfigPublisher = Object.freeze({ publishConfig: () => undefined });

export type Clock = () => number;

/**
 * What the services log through: the service's pino logger (src/logger.ts) fits it; the services
 * never import a logging library. Lines never carry a credential, a hash or a secret.
 */
export interface ServiceLog {
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export const NO_LOG: ServiceLog = Object.freeze({ info: () => undefined, debug: () => undefined });

/** A tracker's sync state moved on for the latest version (docs/api.md#the-sync-object). */
export interface SyncChange {
  readonly deviceId: string;
  readonly version: number;
  readonly state: 'delivered' | 'applied' | 'rejected';
  /** When the version was accepted (its `changed_at`) and when the state changed, in ms since the epoch. */
  readonly acceptedAt: number;
  readonly at: number;
  readonly reason: string | null;
}
