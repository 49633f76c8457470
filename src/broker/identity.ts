import type { Client } from 'aedes';
import type { Observer } from '../settings/device-service.js';

/** A tracker: the device it is, and the QoS granted to each of its subscriptions. */
export interface TrackerIdentity {
  readonly kind: 'tracker';
  readonly deviceId: string;
  readonly subscriptions: Map<string, number>;
  /** One entry per QoS 1 message forwarded to it, in order: the config version, or null. */
  readonly inflight: Array<number | null>;
  /** Filters judged in the SUBSCRIBE being handled (docs/mqtt.md#subscription-limits). */
  filtersInPacket: number;
}

/** A platform user watching config topics, with a short-lived cache of the devices it may see. */
export interface ObserverIdentity {
  readonly kind: 'observer';
  readonly observer: Observer;
  visible: Set<string>;
  visibleAt: number;
  /** The filters granted to it (their count is capped: docs/mqtt.md#subscription-limits). */
  readonly subscriptions: Set<string>;
  filtersInPacket: number;
}

export type Identity = TrackerIdentity | ObserverIdentity;

/** Who each connected client is, decided once in `authenticate`. */
export class Identities {
  private readonly byClient = new WeakMap<Client, Identity>();
  /** The live client of each connected tracker (to disconnect it when its device is blocked). */
  readonly trackers = new Map<string, Client>();
  /**
   * Who owns each persistent session (clean session = 0), online or not: what may be queued for
   * it is judged by this identity (docs/mqtt.md#session-limits). A clean CONNECT of the id drops it.
   */
  readonly sessions = new Map<string, Identity>();

  get(client: Client | null): Identity | undefined {
    return client ? this.byClient.get(client) : undefined;
  }

  setTracker(client: Client, deviceId: string): void {
    this.set(client, { kind: 'tracker', deviceId, subscriptions: new Map(), inflight: [], filtersInPacket: 0 });
  }

  setObserver(client: Client, observer: Observer, visible: Set<string>, now: number): void {
    this.set(client, { kind: 'observer', observer, visible, visibleAt: now, subscriptions: new Set(), filtersInPacket: 0 });
  }

  private set(client: Client, identity: Identity): void {
    this.byClient.set(client, identity);
    if (client.clean) this.sessions.delete(client.id);
    else this.sessions.set(client.id, identity);
  }
}
