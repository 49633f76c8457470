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
  /**
   * Which user holds each observer client id: while connected, and after a persistent session
   * (clean = false) left, for as long as the broker keeps that session (docs/mqtt.md#connecting-identity-and-connack-codes).
   */
  private readonly observerIds = new Map<string, { userId: number; client: Client; persistent: boolean }>();

  get(client: Client | null): Identity | undefined {
    return client ? this.byClient.get(client) : undefined;
  }

  setTracker(client: Client, deviceId: string): void {
    this.set(client, { kind: 'tracker', deviceId, subscriptions: new Map(), inflight: [], filtersInPacket: 0 });
  }

  /** False when another user's observer holds `clientId` (connected, or its stored session). */
  observerIdFree(clientId: string, userId: number): boolean {
    const held = this.observerIds.get(clientId);
    if (!held || held.userId === userId) return true;
    return !held.persistent && (held.client as { closed?: boolean }).closed === true;
  }

  setObserver(client: Client, observer: Observer, visible: Set<string>, now: number): void {
    this.set(client, { kind: 'observer', observer, visible, visibleAt: now, subscriptions: new Set(), filtersInPacket: 0 });
    this.observerIds.set(client.id, { userId: observer.userId, client, persistent: client.clean === false });
  }

  /** A client left: a clean observer session frees its client id, a persistent one keeps it held. */
  released(client: Client): void {
    const held = this.observerIds.get(client.id);
    if (held?.client === client && !held.persistent) this.observerIds.delete(client.id);
  }

  private set(client: Client, identity: Identity): void {
    this.byClient.set(client, identity);
    if (client.clean) this.sessions.delete(client.id);
    else this.sessions.set(client.id, identity);
  }
}
