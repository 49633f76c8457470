import { Aedes, type Client } from 'aedes';
import type { Logger } from '../logger.js';
import type { DeviceService } from '../settings/device-service.js';
import type { ConfigMessage, ConfigPublisher } from '../settings/types.js';
import { installAedesInternals, type LeanClients } from './aedes-internals/index.js';
import type { Followed } from './aedes-internals/guard.js';
import { ConfigCache } from './config-cache.js';
import { BrokerHooks, type HookOptions } from './hooks.js';
import { PACKET_HEADROOM_BYTES, startListener, type Listener, type ListenerSpec } from './listeners.js';
import { storeBackedPersistence } from './persistence.js';
import { configTopic, topicMatches } from './topics.js';

export interface BrokerOptions extends HookOptions {
  readonly listeners: readonly ListenerSpec[];
  /** How often connected trackers are checked against blocked devices (docs/mqtt.md#several-nodes). */
  readonly blockedCheckMs?: number;
  /** Several nodes: the brokers share messages and sessions through this Redis (cluster.ts); none unless given. */
  readonly redisUrl?: string | null;
  /** docs/mqtt.md#session-limits */
  readonly maxQueuedPerSession: number;
  readonly maxInflightQos2: number;
  /** What the aedes-internals patches were written for (tests pass a changed copy). */
  readonly followed?: Followed;
}

export interface Broker extends ConfigPublisher {
  readonly aedes: Aedes;
  /** The cheaper clean-session CONNECT (aedes-internals/lean-clients.ts); undefined when aedes runs unpatched. */
  readonly lean: LeanClients | undefined;
  /** Performance patches of aedes-internals/ not in use (docs/aedes-internals.md). */
  readonly degraded: readonly string[];
  readonly listeners: readonly Listener[];
  /** Trackers connected now (the connected-trackers metric). */
  connectedTrackers(): number;
  port(name: ListenerSpec['name']): number | undefined;
  close(): Promise<void>;
}

/** With several nodes a blocked device's tracker may be connected to any node: each checks this often (docs/mqtt.md#several-nodes). */
const CLUSTER_BLOCKED_CHECK_MS = 250;

/** The embedded MQTT broker (docs/mqtt.md), wired to the device service. */
export async function startBroker(devices: DeviceService, options: BrokerOptions, log: Logger): Promise<Broker> {
  // loaded only with Redis: one node never loads a Redis client
  const engines = options.redisUrl ? (await import('./cluster.js')).redisEngines(options.redisUrl, log) : undefined;
  // several nodes: a config another node wrote must not be served from this node's cache
  const configs = new ConfigCache(devices, engines && (() => devices.freshness()));
  const hooks = new BrokerHooks(devices, configs, options, log);
  let subscriber: () => Client | undefined = () => undefined;
  const persistence = storeBackedPersistence(
    configs,
    {
      retainedViewer: () => {
        const client = subscriber();
        return client && hooks.visibleTo(client);
      },
      mayQueue: hooks.mayQueue,
      granted: hooks.granted,
      maxQueuedPerSession: options.maxQueuedPerSession,
      maxInflightQos2: options.maxInflightQos2,
    },
    engines?.persistence,
  );
  let aedes: Aedes;
  try {
    aedes = await createAedes();
  } catch (err) {
    await engines?.close().catch(() => undefined);
    throw err;
  }
  const closeAedes = async (): Promise<void> => {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await engines?.close();
  };
  function createAedes(): Promise<Aedes> {
    return Aedes.createBroker({
      ...(engines && { mq: engines.mq as never }),
      persistence: persistence as never,
      preConnect: hooks.preConnect,
      authenticate: hooks.authenticate,
      authorizeSubscribe: hooks.authorizeSubscribe,
      authorizePublish: hooks.authorizePublish,
      authorizeForward: hooks.authorizeForward,
      published: hooks.published,
      drainTimeout: 30_000,
      maxClientsIdLength: 128,
      maxInflightInbound: options.maxInflightQos2,
    });
  }
  const maxPacketBytes = options.maxPayloadBytes + PACKET_HEADROOM_BYTES;
  let internals: Awaited<ReturnType<typeof installAedesInternals>>;
  try {
    internals = await installAedesInternals(
      aedes,
      { maxPacketBytes, cluster: engines !== undefined, ...(options.followed && { followed: options.followed }) },
      log,
    );
  } catch (err) {
    await closeAedes();
    throw err;
  }
  subscriber = internals.retainedSubscriber;
  const { identities } = hooks;
  // Connects and disconnects are logged at debug only: no line object built per connect otherwise.
  const debug = log.isLevelEnabled('debug');

  aedes.on('ack', (_packet, client) => hooks.onAck(client));
  aedes.on('clientReady', (client) => onTrackerReady(client));
  aedes.on('clientDisconnect', (client) => {
    identities.released(client);
    const identity = identities.get(client);
    if (identity?.kind === 'tracker' && identities.trackers.get(identity.deviceId) === client) {
      identities.trackers.delete(identity.deviceId);
      if (debug) log.debug({ device: identity.deviceId }, 'tracker disconnected');
    }
  });
  const { counters } = options;
  if (counters) {
    aedes.on('connackSent', (packet) => {
      if (packet.returnCode !== 0) counters.refusedConnect(packet.returnCode ?? 0);
    });
  }
  aedes.on('unsubscribe', hooks.onUnsubscribe);
  aedes.on('clientError', (client, err) => log.debug({ client: client.id, err: err.message }, 'mqtt client error'));
  aedes.on('connectionError', (client, err) => log.debug({ client: client?.id, err: err.message }, 'mqtt connection error'));

  /**
   * A tracker whose persistent session was restored did not SUBSCRIBE again, so it got no retained
   * message: hand it the latest config directly (queued versions are never kept for it).
   */
  function onTrackerReady(client: Client): void {
    const identity = identities.get(client);
    if (identity?.kind !== 'tracker') return;
    identities.trackers.set(identity.deviceId, client);
    if (debug) log.debug({ device: identity.deviceId, clean: client.clean }, 'tracker connected');
    const topic = configTopic(identity.deviceId);
    if (client.clean || ![...identity.subscriptions.keys()].some((pattern) => topicMatches(pattern, topic))) return;
    const payload = configs.get(identity.deviceId);
    if (!payload) return;
    const send = () => client.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, () => undefined);
    const durable = configs.durable(); // read from the database: leaves once it is on disk
    if (durable) durable.then(send, (err: unknown) => log.error({ err }, 'config not sent: the database is not durable'));
    else send();
  }

  const blockedTimer = setInterval(
    () => {
      if (identities.trackers.size === 0) return;
      try {
        for (const deviceId of devices.blockedDevices()) identities.trackers.get(deviceId)?.close();
      } catch (err) {
        log.error({ err }, 'blocked devices check failed');
      }
    },
    options.blockedCheckMs ?? (engines ? CLUSTER_BLOCKED_CHECK_MS : 2_000),
  );
  blockedTimer.unref();

  const listeners: Listener[] = [];
  try {
    for (const spec of options.listeners) listeners.push(await startListener(aedes, spec, internals.onConnection));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    clearInterval(blockedTimer);
    await closeAedes();
    throw err;
  }

  return {
    aedes,
    lean: internals.lean,
    degraded: internals.degraded,
    listeners,
    connectedTrackers: () => identities.trackers.size,
    port: (name) => listeners.find((l) => l.name === name)?.port,
    publishConfig(deviceId: string, message: ConfigMessage): void {
      const payload = configs.put(deviceId, message);
      aedes.publish({ cmd: 'publish', topic: configTopic(deviceId), payload, qos: 1, retain: true, dup: false }, (err) => {
        if (err) log.error({ err, device: deviceId }, 'config publish failed');
      });
    },
    async close(): Promise<void> {
      clearInterval(blockedTimer);
      const closing = Promise.all(listeners.map((l) => l.close()));
      await closeAedes();
      await closing;
    },
  };
}
