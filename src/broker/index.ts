import { Aedes, type Client } from 'aedes';
import type { Logger } from '../logger.js';
import type { DeviceService } from '../settings/device-service.js';
import type { ConfigMessage, ConfigPublisher } from '../settings/types.js';
import { ConfigCache } from './config-cache.js';
import { BrokerHooks, type HookOptions } from './hooks.js';
import { installLeanClients, type LeanClients } from './lean-clients.js';
import { PACKET_HEADROOM_BYTES, startListener, type Listener, type ListenerSpec } from './listeners.js';
import { sqliteBackedPersistence } from './persistence.js';
import { configTopic, topicMatches } from './topics.js';

export interface BrokerOptions extends HookOptions {
  readonly listeners: readonly ListenerSpec[];
  /** How often connected trackers are checked against blocked devices. */
  readonly blockedCheckMs?: number;
}

export interface Broker extends ConfigPublisher {
  readonly aedes: Aedes;
  /** The cheaper clean-session CONNECT (lean-clients.ts); undefined when aedes runs unpatched. */
  readonly lean: LeanClients | undefined;
  readonly listeners: readonly Listener[];
  port(name: ListenerSpec['name']): number | undefined;
  close(): Promise<void>;
}

/** `$SYS/<broker>/new/clients`, `…/new/subscribes`, `…/new/unsubscribes`, `…/disconnect/clients`. */
const SYS_EVENT = /^\$SYS\/[^/]+\/(?:new\/(?:clients|subscribes|unsubscribes)|disconnect\/clients)$/;

/**
 * Aedes announces every connect, disconnect and SUBSCRIBE on `$SYS` (one more publish, JSON
 * serialization included, through the whole publish pipeline per event). `$SYS` is closed to every
 * client here (docs/mqtt.md#access-control) and only a cluster of brokers listens to `new/clients`: drop these events.
 * The heartbeat and birth messages stay (aedes' will bookkeeping uses them).
 */
function dropSysEvents(aedes: Aedes): void {
  type Publish = (packet: { topic: string }, client?: unknown, done?: (err?: Error | null) => void) => void;
  const publish = (aedes.publish as unknown as Publish).bind(aedes);
  (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (packet.topic.charCodeAt(0) === 36 /* $ */ && SYS_EVENT.test(packet.topic)) {
      const callback = typeof client === 'function' ? (client as (err?: Error | null) => void) : done;
      callback?.(null);
      return;
    }
    publish(packet, client, done);
  };
}

/** The embedded MQTT broker (docs/mqtt.md), wired to the device service. */
export async function startBroker(devices: DeviceService, options: BrokerOptions, log: Logger): Promise<Broker> {
  const configs = new ConfigCache(devices);
  const hooks = new BrokerHooks(devices, configs, options, log);
  const aedes = await Aedes.createBroker({
    persistence: sqliteBackedPersistence(configs),
    preConnect: hooks.preConnect,
    authenticate: hooks.authenticate,
    authorizeSubscribe: hooks.authorizeSubscribe,
    authorizePublish: hooks.authorizePublish,
    authorizeForward: hooks.authorizeForward,
    published: hooks.published,
    drainTimeout: 30_000,
    maxClientsIdLength: 128,
  });
  const { identities } = hooks;
  dropSysEvents(aedes);
  const lean = await installLeanClients(aedes, (reason) => log.warn({ reason }, 'aedes runs without part of the lean-clients patch'));

  aedes.on('ack', (_packet, client) => hooks.onAck(client));
  aedes.on('clientReady', (client) => onTrackerReady(client));
  aedes.on('clientDisconnect', (client) => {
    const identity = identities.get(client);
    if (identity?.kind === 'tracker' && identities.trackers.get(identity.deviceId) === client) {
      identities.trackers.delete(identity.deviceId);
    }
  });
  aedes.on('unsubscribe', (topics, client) => {
    const identity = identities.get(client);
    if (identity?.kind === 'tracker') for (const topic of topics) identity.subscriptions.delete(topic);
  });
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
    const topic = configTopic(identity.deviceId);
    if (client.clean || ![...identity.subscriptions.keys()].some((pattern) => topicMatches(pattern, topic))) return;
    const payload = configs.get(identity.deviceId);
    if (!payload) return;
    const send = () => client.publish({ cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false }, () => undefined);
    const durable = configs.durable(); // read from the database: leaves once it is on disk
    if (durable) durable.then(send, (err: unknown) => log.error({ err }, 'config not sent: the database is not durable'));
    else send();
  }

  const blockedTimer = setInterval(() => {
    if (identities.trackers.size === 0) return;
    try {
      for (const deviceId of devices.blockedDevices()) identities.trackers.get(deviceId)?.close();
    } catch (err) {
      log.error({ err }, 'blocked devices check failed');
    }
  }, options.blockedCheckMs ?? 2_000);
  blockedTimer.unref();

  const listeners: Listener[] = [];
  try {
    const maxPacketBytes = options.maxPayloadBytes + PACKET_HEADROOM_BYTES;
    for (const spec of options.listeners) listeners.push(await startListener(aedes, { maxPacketBytes, ...spec }));
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    clearInterval(blockedTimer);
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }

  return {
    aedes,
    lean,
    listeners,
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
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await closing;
    },
  };
}
