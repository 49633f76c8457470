/**
 * Updates through the HTTP API and their delivery to the trackers: what run.ts and cluster.ts both
 * measure (docs/benchmarks.md).
 */
import type { HttpResponse } from './http-load.js';
import { encodeRequest } from './http-load.js';
import { type Samples, sleep } from './stats.js';
import type { BenchTracker } from './targets.js';

const key = (index: number, version: number) => index * 1_000_000 + version;

/**
 * Tracks every accepted update from the HTTP answer to the config message at the tracker: the
 * latest version the service acknowledged per device, and the delivery latency of each update.
 */
export class DeliveryTracker {
  readonly latest: Int32Array;
  private readonly sentAt = new Map<number, number>();
  private readonly arrivedAt = new Map<number, number>();
  samples: Samples | undefined;
  accepted = 0;
  delivered = 0;

  constructor(size: number) {
    this.latest = new Int32Array(size);
  }

  onAccepted(index: number, version: number, sentUs: number): void {
    this.accepted++;
    if (version > this.latest[index]!) this.latest[index] = version;
    const k = key(index, version);
    const arrived = this.arrivedAt.get(k);
    if (arrived !== undefined) {
      this.arrivedAt.delete(k);
      this.delivered++;
      this.samples?.add(arrived - sentUs);
    } else this.sentAt.set(k, sentUs);
  }

  onConfig(index: number, version: number, atUs: number): void {
    const k = key(index, version);
    const sent = this.sentAt.get(k);
    if (sent !== undefined) {
      this.sentAt.delete(k);
      this.delivered++;
      this.samples?.add(atUs - sent);
    } else if (version > 0) this.arrivedAt.set(k, atUs);
  }

  /** Accepted updates not yet seen at their tracker. */
  get undelivered(): number {
    return this.sentAt.size;
  }

  /** After seeding a first config for each of `expected` trackers: throws unless all were accepted and delivered. */
  async requireSeeded(expected: number, timeoutMs: number): Promise<void> {
    const undelivered = await this.drain(timeoutMs);
    if (undelivered > 0 || this.accepted < expected) throw new Error(`seeding failed: ${this.accepted} accepted, ${undelivered} undelivered`);
  }

  /** Waits until every accepted update reached its tracker (or `timeoutMs`). */
  async drain(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.sentAt.size > 0 && Date.now() < deadline) await sleep(20);
    return this.sentAt.size;
  }

  resetOrphans(): void {
    this.arrivedAt.clear();
  }
}

/** A complete telfm settings object (its profile has no defaults: a first update must send every field). */
export function fullSettings(n: number) {
  return {
    tracking_angle: 30,
    tracking_distance: 50 + (n % 1000),
    tracking_interval: 30 + (n % 200),
    on_stop_tracking_interval: 180,
    sleep_mode: 'disabled',
    stop_detection: 'ignition',
  };
}

/** The bytes of one update call: tracker `trackerId` gets `fullSettings(n)`. */
export function updateBytes(port: number, hash: string, trackerId: number, n: number): Buffer {
  const body = JSON.stringify({ hash, tracker_id: trackerId, tracking_settings: fullSettings(n) });
  return encodeRequest(port, { method: 'POST', path: '/tracker/settings/tracking/update', body });
}

/** The bytes of read calls for the first trackers (at most 2,000), to pick from at random. */
export function readRequests(port: number, hash: string, trackers: readonly BenchTracker[]): Buffer[] {
  return Array.from({ length: Math.min(trackers.length, 2000) }, (_, i) =>
    encodeRequest(port, { method: 'POST', path: '/tracker/settings/tracking/read', body: JSON.stringify({ hash, tracker_id: trackers[i]!.trackerId }) }),
  );
}

export function updateRequest(port: number, hash: string, trackers: readonly BenchTracker[]) {
  let n = 0;
  return () => {
    const index = Math.floor(Math.random() * trackers.length);
    n++;
    return { bytes: updateBytes(port, hash, trackers[index]!.trackerId, n), tag: index };
  };
}

export function acceptedVersion(res: HttpResponse): number | undefined {
  try {
    const body = JSON.parse(res.body.toString('utf8')) as { success?: boolean; sync?: { version?: number } };
    return body.success === true ? body.sync?.version : undefined;
  } catch {
    return undefined;
  }
}
