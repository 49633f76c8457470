import type { DeviceService } from '../settings/device-service.js';
import type { ConfigMessage } from '../settings/types.js';

interface Entry {
  readonly version: number;
  readonly payload: Buffer;
  /** The store's freshness epoch it was read or written at (several nodes only). */
  readonly epoch: number;
}

/**
 * The serialized latest config of each device, read from SQLite on first use and replaced on every
 * publish, so a reconnect storm costs a map lookup per SUBSCRIBE instead of a query and a stringify.
 * Absent configs are not cached: a version written by another process (the demo) is seen at once.
 * With several nodes (`epoch` given) an entry is served only while the store's freshness epoch it
 * was read at lasts: another node's commit moves the epoch, so its versions are never served stale.
 */
export class ConfigCache {
  private readonly entries = new Map<string, Entry>();
  /** payload → version, for counting PUBACKs without parsing what we serialized ourselves. */
  private readonly versions = new WeakMap<Buffer, number>();

  constructor(
    private readonly devices: DeviceService,
    private readonly epoch?: () => number,
  ) {}

  put(deviceId: string, message: ConfigMessage): Buffer {
    const current = this.entries.get(deviceId);
    if (current && current.version > message.version) return current.payload;
    const payload = Buffer.from(JSON.stringify(message));
    this.entries.set(deviceId, { version: message.version, payload, epoch: this.epoch?.() ?? 0 });
    this.versions.set(payload, message.version);
    return payload;
  }

  get(deviceId: string): Buffer | undefined {
    const cached = this.entries.get(deviceId);
    if (cached && (this.epoch === undefined || cached.epoch === this.epoch())) return cached.payload;
    const message = this.devices.latestConfig(deviceId);
    return message && this.put(deviceId, message);
  }

  /** See Store.durable: configs read from the database leave for a tracker only once this settles. */
  durable(): Promise<void> | undefined {
    return this.devices.durable();
  }

  versionOf(payload: Buffer): number | undefined {
    const known = this.versions.get(payload);
    if (known !== undefined) return known;
    try {
      const version = (JSON.parse(payload.toString('utf8')) as { version?: unknown }).version;
      return typeof version === 'number' ? version : undefined;
    } catch {
      return undefined;
    }
  }
}
