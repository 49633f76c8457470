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
