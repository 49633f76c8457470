import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
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
const memory = createRequire(import.meta.url)('aedes-persistence') as () => Persistence;

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

/**
 * Aedes' in-memory persistence with the retained messages replaced:
 * - config topics are served from SQLite (through the ConfigCache), never from memory, so after a
 *   restart every tracker gets its latest accepted settings and nothing else;
 * - other retained messages (a tracker's retained `reported`) are indexed by device, so a SUBSCRIBE
 *   to one device's topics looks at that device only (the stock store scans every retained message:
 *   O(N²) in a reconnect storm);
 * - config messages are never queued for offline sessions: a tracker that comes back gets the latest
 *   version only, never the intermediate ones.
 */
export function sqliteBackedPersistence(configs: ConfigCache): Persistence {
  const base = memory();
  const byDevice = new Map<string, Map<string, RetainedPacket>>();
  const outside = new Map<string, RetainedPacket>();
  const enqueue = (base.outgoingEnqueue as (...a: unknown[]) => Promise<void>).bind(base);
  const enqueueCombi = (base.outgoingEnqueueCombi as (...a: unknown[]) => Promise<void>).bind(base);
  const update = (base.outgoingUpdate as (...a: unknown[]) => Promise<void>).bind(base);

  const configPacket = (deviceId: string, payload: Buffer): RetainedPacket => ({
    cmd: 'publish',
    topic: configTopic(deviceId),
    payload,
    qos: 1,
    retain: true,
  });

  function* candidates(pattern: string): Generator<RetainedPacket> {
    const deviceId = deviceOfPattern(pattern);
    if (deviceId !== undefined) {
      const payload = configs.get(deviceId);
      if (payload) yield configPacket(deviceId, payload);
      yield* byDevice.get(deviceId)?.values() ?? [];
      return;
    }
    for (const [id, payload] of configs.all()) yield configPacket(id, payload);
    for (const retained of byDevice.values()) yield* retained.values();
    yield* outside.values();
  }

  function* matching(patterns: readonly string[]): Generator<RetainedPacket> {
    const seen = new Set<string>();
    for (const pattern of patterns) {
      for (const packet of candidates(pattern)) {
        if (seen.has(packet.topic) || !topicMatches(pattern, packet.topic)) continue;
        seen.add(packet.topic);
        yield packet;
      }
    }
  }

  return Object.assign(base, {
    async storeRetained(packet: RetainedPacket): Promise<void> {
      if (isConfigTopic(packet.topic)) return; // SQLite holds these
      const deviceId = deviceOfTopic(packet.topic);
      const map = deviceId === undefined ? outside : (byDevice.get(deviceId) ?? new Map<string, RetainedPacket>());
      if (deviceId !== undefined) byDevice.set(deviceId, map);
      if (packet.payload.length === 0) map.delete(packet.topic);
      else map.set(packet.topic, { cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: true });
    },
    createRetainedStreamCombi: (patterns: readonly string[]) => arrayStream([...matching(patterns)], configs.durable()),
    createRetainedStream: (pattern: string) => arrayStream([...matching([pattern])], configs.durable()),
    async outgoingEnqueue(sub: unknown, packet: RetainedPacket): Promise<void> {
      if (!isConfigTopic(packet.topic)) await enqueue(sub, packet);
    },
    async outgoingEnqueueCombi(subs: unknown, packet: RetainedPacket): Promise<void> {
      if (!isConfigTopic(packet.topic)) await enqueueCombi(subs, packet);
    },
    async outgoingUpdate(client: unknown, packet: RetainedPacket): Promise<void> {
      if (!isConfigTopic(packet.topic)) await update(client, packet);
    },
  });
}
