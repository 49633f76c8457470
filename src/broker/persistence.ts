import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ConfigCache } from './config-cache.js';
import { configTopic, deviceOfPattern, deviceOfTopic, parseTopic, topicMatches } from './topics.js';

interface RetainedPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: true;
}

type Persistence = Record<string, unknown>;

// aedes-persistence is CommonJS and its typings declare an ES default export it does not have.
// Aedes' own copy: the one aedes-internals/guard.ts checks (session-bounds, docs/aedes-internals.md).
const memory = createRequire(fileURLToPath(import.meta.resolve('aedes')))('aedes-persistence') as () => Persistence;

function isConfigTopic(topic: string): boolean {
  return parseTopic(topic)?.kind === 'config';
}

/**
 * An object stream of packets already in hand. `Readable.from` would pull them through an async
 * iterator (a promise and a microtask per packet, an AbortController per stream) on every SUBSCRIBE;
 * a tracker's SUBSCRIBE matches one config, found synchronously. With `durable`, the packets (read
 * before it was asked) are pushed once the commits they could have seen are on disk.
 */
function arrayStream(packets: RetainedPacket[], durable: Promise<void> | undefined): Readable {
  const stream = new Readable({ objectMode: true, highWaterMark: Math.max(1, packets.length), read() {} });
  const push = () => {
    for (const packet of packets) stream.push(packet);
    stream.push(null);
  };
  if (durable) durable.then(push, (err: Error) => stream.destroy(err));
  else push();
  return stream;
}

/** What the persistence asks the broker's hooks (docs/mqtt.md#session-limits). */
export interface SessionPolicy {
  /**
   * The devices the client whose SUBSCRIBE is being answered may see; undefined when unknown (then
   * a filter with a wildcard device level gets nothing).
   */
  retainedViewer(): ReadonlySet<string> | undefined;
  /** Whether a message of device `deviceId` may be queued for the session `clientId`. */
  mayQueue(clientId: string, deviceId: string): boolean;
  /** Whether `sub` (one filter of a SUBSCRIBE) was granted. */
  granted(sub: object): boolean;
  /** Messages held for one session at most; more are not queued. */
  readonly maxQueuedPerSession: number;
  /** Inbound QoS 2 publishes held (awaiting PUBREL) for one client id at most; more are refused. */
  readonly maxInflightQos2: number;
}

interface Sub {
  readonly clientId: string;
}

/**
 * Aedes' in-memory persistence (or, with several nodes, the shared Redis one given as `base`:
 * cluster.ts) with the retained messages replaced and its session state bounded:
 * - config topics are served from the store (through the ConfigCache), never from the persistence,
 *   so after a restart every tracker gets its latest accepted settings and nothing else;
 * - other retained messages (a tracker's retained `reported`) are indexed by device, so a SUBSCRIBE
 *   to one device's topics looks at that device only (the stock store scans every retained message:
 *   O(N²) in a reconnect storm); a filter with a wildcard device level looks at the devices the
 *   subscriber may see, never the whole fleet;
 * - config messages are never queued for offline sessions: a tracker that comes back gets the latest
 *   version only, never the intermediate ones;
 * - a message is queued for a session only if its owner may see it, up to maxQueuedPerSession
 *   (counted per node with several nodes);
 *   only granted filters are stored; unreleased QoS 2 publishes are bounded per client id.
 */
export function storeBackedPersistence(configs: ConfigCache, policy: SessionPolicy, base: Persistence = memory()): Persistence {
  const byDevice = new Map<string, Map<string, RetainedPacket>>();
  const queued = new Map<string, number>();
  const incoming = new Map<string, Set<unknown>>();
  const enqueue = (base.outgoingEnqueue as (...a: unknown[]) => Promise<void>).bind(base);
  const enqueueCombi = (base.outgoingEnqueueCombi as (...a: unknown[]) => Promise<void>).bind(base);
  const update = (base.outgoingUpdate as (...a: unknown[]) => Promise<void>).bind(base);
  const clearMessageId = (base.outgoingClearMessageId as (...a: unknown[]) => Promise<unknown>).bind(base);
  const addSubscriptions = (base.addSubscriptions as (client: unknown, subs: object[]) => Promise<void>).bind(base);
  const storeIncoming = (base.incomingStorePacket as (...a: unknown[]) => Promise<void>).bind(base);
  const delIncoming = (base.incomingDelPacket as (...a: unknown[]) => Promise<void>).bind(base);
  // the Redis persistence has none (then aedes' CONNECT skips that step: ours clears the bound only)
  const cleanIncoming = typeof base.cleanIncoming === 'function' ? (base.cleanIncoming as (client: unknown) => Promise<void>).bind(base) : undefined;

  const configPacket = (deviceId: string, payload: Buffer): RetainedPacket => ({
    cmd: 'publish',
    topic: configTopic(deviceId),
    payload,
    qos: 1,
    retain: true,
  });

  function* matching(patterns: readonly string[]): Generator<RetainedPacket> {
    const seen = new Set<string>();
    let visible: ReadonlySet<string> | undefined | null = null; // asked once, when a wildcard needs it
    for (const pattern of patterns) {
      const deviceId = deviceOfPattern(pattern);
      if (deviceId === undefined) visible ??= policy.retainedViewer();
      const devices = deviceId !== undefined ? [deviceId] : (visible ?? []);
      for (const id of devices) {
        // the config is read (SQLite, through the cache) only when the filter wants it
        const config = configTopic(id);
        if (!seen.has(config) && topicMatches(pattern, config)) {
          const payload = configs.get(id);
          if (payload) {
            seen.add(config);
            yield configPacket(id, payload);
          }
        }
        for (const packet of byDevice.get(id)?.values() ?? []) {
          if (seen.has(packet.topic) || !topicMatches(pattern, packet.topic)) continue;
          seen.add(packet.topic);
          yield packet;
        }
      }
    }
  }

  /** The subscriptions a message may be queued for: visible to their owner, and room in their queue. */
  function admitted(subs: readonly Sub[], topic: string): Sub[] {
    const deviceId = deviceOfTopic(topic);
    if (deviceId === undefined) return []; // no session may see it (docs/mqtt.md#access-control)
    const out: Sub[] = [];
    for (const sub of subs) {
      const count = queued.get(sub.clientId) ?? 0;
      if (count >= policy.maxQueuedPerSession || !policy.mayQueue(sub.clientId, deviceId)) continue;
      queued.set(sub.clientId, count + 1);
      out.push(sub);
    }
    return out;
  }

  const idOf = (client: unknown) => (client as { id: string }).id;

  return Object.assign(base, {
    async storeRetained(packet: RetainedPacket): Promise<void> {
      if (isConfigTopic(packet.topic)) return; // SQLite holds these
      const deviceId = deviceOfTopic(packet.topic);
      if (deviceId === undefined) return; // no client may receive it (docs/mqtt.md#access-control)
      const map = byDevice.get(deviceId) ?? new Map<string, RetainedPacket>();
      byDevice.set(deviceId, map);
      if (packet.payload.length === 0) map.delete(packet.topic);
      else map.set(packet.topic, { cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: true });
    },
    createRetainedStreamCombi: (patterns: readonly string[]) => arrayStream([...matching(patterns)], configs.durable()),
    createRetainedStream: (pattern: string) => arrayStream([...matching([pattern])], configs.durable()),
    async addSubscriptions(client: unknown, subs: object[]): Promise<void> {
      // aedes stores a SUBSCRIBE's whole filter list as soon as its first filter is granted, before
      // the others are judged (in the same synchronous loop): judge them first
      await null;
      const granted = subs.filter((sub) => policy.granted(sub));
      if (granted.length > 0) await addSubscriptions(client, granted);
    },
    async outgoingEnqueue(sub: Sub, packet: RetainedPacket): Promise<void> {
      if (!isConfigTopic(packet.topic) && admitted([sub], packet.topic).length === 1) await enqueue(sub, packet);
    },
    async outgoingEnqueueCombi(subs: readonly Sub[], packet: RetainedPacket): Promise<void> {
      if (isConfigTopic(packet.topic)) return;
      const admit = admitted(subs, packet.topic);
      if (admit.length > 0) await enqueueCombi(admit, packet);
    },
    async outgoingUpdate(client: unknown, packet: RetainedPacket): Promise<void> {
      if (!isConfigTopic(packet.topic)) await update(client, packet);
    },
    async outgoingClearMessageId(client: unknown, packet: unknown): Promise<unknown> {
      const cleared = await clearMessageId(client, packet);
      const id = idOf(client);
      const count = queued.get(id);
      if (cleared !== undefined && count !== undefined) {
        if (count <= 1) queued.delete(id);
        else queued.set(id, count - 1);
      }
      return cleared;
    },
    async incomingStorePacket(client: unknown, packet: { messageId?: unknown }): Promise<void> {
      const id = idOf(client);
      const held = incoming.get(id) ?? new Set<unknown>();
      if (!held.has(packet.messageId) && held.size >= policy.maxInflightQos2) {
        throw new Error(`more than ${policy.maxInflightQos2} QoS 2 publishes awaiting PUBREL`);
      }
      await storeIncoming(client, packet);
      held.add(packet.messageId);
      incoming.set(id, held);
    },
    async incomingDelPacket(client: unknown, packet: { messageId?: unknown }): Promise<void> {
      await delIncoming(client, packet);
      const held = incoming.get(idOf(client));
      held?.delete(packet.messageId);
      if (held?.size === 0) incoming.delete(idOf(client));
    },
    async cleanIncoming(client: unknown): Promise<void> {
      incoming.delete(idOf(client));
      if (cleanIncoming) await cleanIncoming(client);
    },
  });
}
