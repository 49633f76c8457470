import type { AedesPublishPacket, Client, PublishPacket, Subscription } from 'aedes';
import type { Logger } from '../logger.js';
import type { DeviceService } from '../settings/device-service.js';
import type { RateLimit } from '../rate-limit.js';
import { inProcessLimits, type LimitStore } from '../settings/limits.js';
import { ThrottledAnswerLog } from './answer-log.js';
import type { ConfigCache } from './config-cache.js';
import { Identities, type Identity, type ObserverIdentity, type TrackerIdentity } from './identity.js';
import { ackTopic, deviceOfTopic, parseTopic, reportedTopic, topicMatches, trackerSubscriptionPrefix } from './topics.js';

// CONNACK return codes (aedes' AuthErrorCode is a const enum: use the numbers).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/** How long an observer's list of visible devices is trusted before it is read again. */
const OBSERVER_VISIBILITY_MS = 5_000;

export interface HookOptions {
  readonly maxPayloadBytes: number;
  readonly connectsPerSecondPerAddress: number;
  /** docs/mqtt.md#subscription-limits */
  readonly maxFiltersPerSubscribe: number;
  readonly maxSubscriptionsPerClient: number;
  readonly maxTopicLength: number;
  /** One line per device per interval for dropped answers (answer-log.ts); 60 s unless given. */
  readonly answerLogIntervalMs?: number;
  /** The clock of that log and of the per-address connect limit (tests). */
  readonly now?: () => number;
  /** Counts what the broker refuses (the service's metrics, docs/operations.md#metrics). */
  readonly counters?: BrokerCounters;
  /** Where the connect limit counts: this process unless given (src/settings/limits.ts). */
  readonly limits?: LimitStore;
}

export interface BrokerCounters {
  /** A CONNACK with this non-zero return code was sent. */
  refusedConnect(returnCode: number): void;
  /** A CONNECT dropped by the per-address connect limit. */
  rateLimited(protocol: 'mqtt'): void;
}

function refuse(returnCode: number, message: string) {
  return Object.assign(new Error(message), { returnCode });
}

function remoteAddress(client: Client): string {
  const conn = client.conn as { remoteAddress?: string };
  return client.req?.socket.remoteAddress ?? conn.remoteAddress ?? 'unknown';
}

/**
 * Aedes' hooks for docs/mqtt.md#access-control: who may connect, subscribe, publish and receive what. Safe defaults:
 * a client without an identity can do nothing.
 */
export class BrokerHooks {
  readonly identities = new Identities();
  private readonly connects: RateLimit;
  private readonly slowClients = new WeakSet<Client>();
  /** The subscriptions granted by `authorizeSubscribe` (the persistence stores these only). */
  private readonly grantedSubs = new WeakSet<object>();
  private readonly dropped: ThrottledAnswerLog;

  constructor(
    private readonly devices: DeviceService,
    private readonly configs: ConfigCache,
    private readonly options: HookOptions,
    private readonly log: Logger,
  ) {
    this.connects = (options.limits ?? inProcessLimits()).rateLimit(
      'mqtt-connect',
      options.connectsPerSecondPerAddress,
      options.now === undefined ? {} : { now: options.now },
    );
    this.dropped = new ThrottledAnswerLog(log, options.answerLogIntervalMs ?? 60_000, options.now);
  }

  preConnect = (client: Client, _packet: unknown, done: (err: Error | null, ok: boolean) => void): void => {
    // no address lookup (a getpeername system call) when the per-address limit is off
    if (!this.connects.enabled) return done(null, true);
    const allowed = this.connects.take(remoteAddress(client));
    if (allowed === true) return done(null, true);
    if (allowed === false) return this.tooManyConnects(done);
    // counted by every node: answers later (src/cluster/redis-limits.ts)
    void allowed.then((ok) => (ok ? done(null, true) : this.tooManyConnects(done)));
  };

  private tooManyConnects(done: (err: Error | null, ok: boolean) => void): void {
    this.options.counters?.rateLimited('mqtt');
    done(new Error('too many connections from this address'), false);
  }

  authenticate = (
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void => {
    if (!username || !password) return done(refuse(BAD_USERNAME_OR_PASSWORD, 'credentials required'), null);
    const secret = password.toString('utf8');
    const tracker = this.devices.loginTracker(username, secret);
    if (tracker !== 'unknown') {
      if (client.id !== username) return done(refuse(IDENTIFIER_REJECTED, 'client id must be the device id'), null);
      if (tracker === 'bad-secret') return done(refuse(BAD_USERNAME_OR_PASSWORD, 'wrong device secret'), null);
      if (tracker === 'blocked') return done(refuse(NOT_AUTHORIZED, 'device blocked'), null);
      this.identities.setTracker(client, username);
      return done(null, true);
    }
    this.devices.loginObserver(username, secret).then(
      (observer) => {
        if (observer === 'throttled') return done(refuse(NOT_AUTHORIZED, 'login attempts limit exceeded'), null);
        if (observer === 'busy') return done(refuse(SERVER_UNAVAILABLE, 'too many password checks waiting'), null);
        if (!observer) return done(refuse(BAD_USERNAME_OR_PASSWORD, 'wrong login or password'), null);
        if (this.devices.isDevice(client.id)) return done(refuse(IDENTIFIER_REJECTED, 'client id is a device id'), null);
        if (!this.identities.observerIdFree(client.id, observer.userId)) {
          return done(refuse(IDENTIFIER_REJECTED, "client id held by another user's observer"), null);
        }
        this.identities.setObserver(client, observer, this.devices.visibleDevices(observer), Date.now());
        done(null, true);
      },
      (err: unknown) => {
        this.log.error({ err }, 'observer login failed');
        done(refuse(SERVER_UNAVAILABLE, 'server unavailable'), null);
      },
    );
  };

  authorizeSubscribe = (client: Client, sub: Subscription, done: (err: Error | null, sub?: Subscription | null) => void): void => {
    const identity = this.identities.get(client);
    const topic = sub.topic;
    if (!identity || topic.startsWith('$') || !this.withinLimits(client, identity, topic)) return done(null, null);
    if (identity.kind === 'tracker') {
      if (!topic.startsWith(trackerSubscriptionPrefix(identity.deviceId))) return done(null, null);
      identity.subscriptions.set(topic, sub.qos);
      return done(null, this.grant(sub));
    }
    const first = topic.split('/', 1)[0];
    if (first !== 'trackers' && first !== '+' && first !== '#') return done(null, null);
    identity.subscriptions.add(topic);
    done(null, this.grant(sub));
  };

  /** Whether the persistence may store `sub` for a session: only what `authorizeSubscribe` granted. */
  granted = (sub: object): boolean => this.grantedSubs.has(sub);

  /** An UNSUBSCRIBE frees room under maxSubscriptionsPerClient. */
  onUnsubscribe = (topics: readonly string[], client: Client): void => {
    const identity = this.identities.get(client);
    for (const topic of topics) identity?.subscriptions.delete(topic);
  };

  /**
   * Whether a message of `deviceId` may be queued for the session `clientId` (online or offline):
   * the same visibility as live delivery, judged before aedes' persistence stores anything.
   */
  mayQueue = (clientId: string, deviceId: string): boolean => {
    const identity = this.identities.sessions.get(clientId);
    return identity !== undefined && this.sees(identity, deviceId);
  };

  /** The devices whose retained messages a SUBSCRIBE of `client` may receive (its wildcard lookups scan these only). */
  visibleTo = (client: Client): ReadonlySet<string> | undefined => {
    const identity = this.identities.get(client);
    if (!identity) return undefined;
    return identity.kind === 'tracker' ? new Set([identity.deviceId]) : this.visibleOf(identity);
  };

  private grant(sub: Subscription): Subscription {
    this.grantedSubs.add(sub);
    return sub;
  }

  /**
   * docs/mqtt.md#subscription-limits: filter length, filters per SUBSCRIBE (counted over one
   * SUBSCRIBE: aedes judges its filters in one synchronous loop, see docs/aedes-internals.md),
   * subscriptions per client. A restored session (not yet connected) re-judges what it stored.
   */
  private withinLimits(client: Client, identity: Identity, topic: string): boolean {
    if (Buffer.byteLength(topic) > this.options.maxTopicLength) return false;
    if (client.connected) {
      if (identity.filtersInPacket === 0) queueMicrotask(() => (identity.filtersInPacket = 0));
      if (++identity.filtersInPacket > this.options.maxFiltersPerSubscribe) return false;
    }
    return identity.subscriptions.has(topic) || identity.subscriptions.size < this.options.maxSubscriptionsPerClient;
  }

  authorizePublish = (client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void): void => {
    if (!client) return done(null); // the service's own publishes
    const identity = this.identities.get(client);
    if (identity?.kind !== 'tracker') return done(new Error('publishing is not allowed'));
    if (packet.payload.length > this.options.maxPayloadBytes) return done(new Error('payload too large'));
    if (packet.topic === ackTopic(identity.deviceId)) {
      packet.retain = false; // an answer is an event, not a state
      return done(null);
    }
    if (packet.topic === reportedTopic(identity.deviceId)) return done(null);
    done(new Error(`topic not allowed: ${packet.topic}`));
  };

  authorizeForward = (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null => {
    const identity = this.identities.get(client);
    if (!identity || packet.topic.startsWith('$')) return null;
    const deviceId = deviceOfTopic(packet.topic);
    if (deviceId === undefined || !this.sees(identity, deviceId)) return null;
    if (!packet.retain && this.backlogged(client)) return null;
    if (identity.kind === 'tracker') this.countInflight(identity, packet);
    return packet;
  };

  /** A tracker's ack or reported message, after it was accepted. */
  published = (packet: AedesPublishPacket, client: Client | null, done: (err?: Error | null) => void): void => {
    const identity = this.identities.get(client);
    if (identity?.kind === 'tracker') {
      try {
        const kind = parseTopic(packet.topic)?.kind;
        const outcome =
          kind === 'ack'
            ? this.devices.ack(identity.deviceId, packet.payload as Buffer)
            : kind === 'reported'
              ? this.devices.reported(identity.deviceId, packet.payload as Buffer)
              : undefined;
        if (outcome === 'malformed' || outcome === 'limited') this.dropped.dropped(identity.deviceId, packet.topic, outcome);
      } catch (err) {
        this.log.error({ err, device: identity.deviceId }, 'tracker answer not recorded');
      }
    }
    done(null);
  };

  /** A PUBACK from `client`: it answers the oldest QoS 1 message still in flight to it. */
  onAck = (client: Client): void => {
    const identity = this.identities.get(client);
    if (identity?.kind !== 'tracker') return;
    const version = identity.inflight.shift();
    if (version === undefined || version === null) return;
    try {
      this.devices.delivered(identity.deviceId, version);
    } catch (err) {
      this.log.error({ err, device: identity.deviceId }, 'delivery not recorded');
    }
  };

  /**
   * A client that does not read its socket (or reads slower than it is sent to) must not hold up
   * everyone else: aedes waits for a socket's 'drain' before it releases a live message, and its
   * emitter handles only 100 messages at a time, so one stalled subscriber would stop every
   * delivery for up to `drainTimeout`. A live message for a client whose socket already has more
   * than its high-water mark queued is not written: the client is disconnected instead (its
   * queued bytes are freed). A tracker reconnects and gets its latest config from SQLite; an
   * observer gets the latest retained configs when it subscribes again. The retained flush at
   * SUBSCRIBE is per client and may wait for 'drain' (bounded by drainTimeout).
   */
  private backlogged(client: Client): boolean {
    const conn = client.conn as { writableNeedDrain?: boolean };
    if (conn.writableNeedDrain !== true) return false;
    if (!this.slowClients.has(client)) {
      this.slowClients.add(client);
      this.log.warn({ client: client.id }, 'mqtt client does not read its socket: disconnected');
      setImmediate(() => client.close());
    }
    return true;
  }

  private sees(identity: Identity, deviceId: string): boolean {
    return identity.kind === 'tracker' ? identity.deviceId === deviceId : this.visibleOf(identity).has(deviceId);
  }

  private visibleOf(identity: ObserverIdentity): Set<string> {
    const now = Date.now();
    if (now - identity.visibleAt > OBSERVER_VISIBILITY_MS) {
      identity.visible = this.devices.visibleDevices(identity.observer);
      identity.visibleAt = now;
    }
    return identity.visible;
  }

  /**
   * Aedes' `ack` event carries no packet for clean sessions and retained messages, but a client
   * PUBACKs QoS 1 messages in the order they were sent: queue what each one was.
   */
  private countInflight(identity: TrackerIdentity, packet: AedesPublishPacket): void {
    if (this.forwardedQos(identity, packet) !== 1) return;
    const config = parseTopic(packet.topic)?.kind === 'config';
    identity.inflight.push(config ? (this.configs.versionOf(packet.payload as Buffer) ?? null) : null);
  }

  /** The QoS aedes will send `packet` with: downgraded to the exact subscription's, else the matching ones'. */
  private forwardedQos(identity: TrackerIdentity, packet: AedesPublishPacket): number {
    const exact = identity.subscriptions.get(packet.topic);
    if (exact !== undefined) return Math.min(exact, packet.qos);
    if (packet.retain) return packet.qos;
    let qos = 2;
    for (const [pattern, granted] of identity.subscriptions) if (topicMatches(pattern, packet.topic)) qos = Math.min(qos, granted);
    return Math.min(qos, packet.qos);
  }
}
