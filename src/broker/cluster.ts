/**
 * The brokers of several nodes as one (docs/mqtt.md#several-nodes): aedes' own Redis engines, the
 * message emitter (mqemitter-redis: every publish reaches the subscribers of every node, and aedes'
 * `$SYS/<node>/new/clients` closes a client id taken over on another node) and the session store
 * (aedes-persistence-redis: subscriptions, queued messages and wills of persistent sessions).
 */
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

type Engine = Record<string, unknown>;

interface Emitter extends Engine {
  close(cb: () => void): void;
  /** mqemitter-redis reports its connections' errors here. */
  readonly state: { on(event: 'error', listener: (err: Error) => void): void };
}

interface RedisPersistence extends Engine {
  destroy(): Promise<void>;
}

const require = createRequire(import.meta.url);

export interface ClusterEngines {
  /** aedes' `mq` option. */
  readonly mq: Engine;
  /** The session store the broker's persistence wraps (persistence.ts). */
  readonly persistence: Engine;
  /** After aedes closed: the session store, then the emitter (the store unsubscribes through it). */
  close(): Promise<void>;
}

/** Both engines on the Redis at `url`; nothing is connected to it until aedes starts. */
export function redisEngines(url: string, log: Logger): ClusterEngines {
  const mqemitter = require('mqemitter-redis') as (opts: object) => Emitter;
  const persistenceOf = require('aedes-persistence-redis') as (opts: object) => RedisPersistence;
  // ioredis reconnects by itself: an error is logged, never thrown (an unheard 'error' would be)
  const lost = (err: Error) => log.error({ err }, 'redis connection error (docs/mqtt.md#several-nodes)');
  // while Redis is away a command fails after one reconnect attempt instead of waiting for it: an
  // MQTT CONNECT is refused, not held, and the node can still shut down (docs/scaling.md#when-something-fails)
  const connect = () => new Redis(url, { maxRetriesPerRequest: 1 }).on('error', lost);
  const [subConn, pubConn, conn] = [connect(), connect(), connect()];
  // aedes' own emitter matches `#` on an empty level ([MQTT-4.7.1-3]): the same here
  const mq = mqemitter({ subConn, pubConn, matchEmptyLevels: true });
  mq.state.on('error', lost);
  const closeMq = mq.close.bind(mq);
  // aedes closes its emitter at the end of its close, but the session store still needs it then
  mq.close = (cb: () => void) => cb();
  const persistence = persistenceOf({ conn });
  let closing: Promise<void> | undefined;
  return {
    mq,
    persistence,
    close() {
      closing ??= (async () => {
        try {
          // with Redis away its commands would wait for it forever: a node must still shut down
          if (conn.status === 'ready') await persistence.destroy(); // fails when aedes never set it up
        } catch (err) {
          log.debug({ err }, 'redis persistence not destroyed');
        } finally {
          // QUIT waits for a Redis that may be gone: at most a second, then the sockets are dropped
          await Promise.race([new Promise<void>((resolve) => closeMq(resolve)), new Promise((resolve) => setTimeout(resolve, 1_000).unref())]);
          for (const connection of [conn, subConn, pubConn]) connection.disconnect();
        }
      })();
      return closing;
    },
  };
}
