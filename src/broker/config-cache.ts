import type { DeviceService } from '../settings/device-service.js';
import type { ConfigMessage } from '../settings/types.js';

interface Entry {
  readonly version: number;
  readonly payload: Buffer;
}

/**
 * The serialized latest config of each device, read from SQLite on first use and replaced on every
 * publish, so a reconnect storm costs a map lookup per SUBSCRIBE instead of a query and a stringify.
 * Absent configs are not cached: a version written by another process (the demo) is seen at once.
 */
export class ConfigCache {
  private readonly entries = new Map<string, Entry>();
  /** payload → version, for counting PUBACKs without parsing what we serialized ourselves. */
  private readonly versions = new WeakMap<Buffer, number>();

  constructor(private readonly devices: DeviceService) {}

  put(deviceId: string, message: ConfigMessage): Buffer {
    const current = this.entries.get(deviceId);
    if (current && current.version > message.version) return current.payload;
    const payload = Buffer.from(JSON.stringify(message));
    this.entries.set(deviceId, { version: message.version, payload });
    this.versions.set(payload, message.version);
    return payload;
  }

  get(deviceId: string): Buffer | undefined {
    const cached = this.entries.get(deviceId)?.payload;
    if (cached) return cached;
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
