import type { Test } from 'tap';
import { type RedisServer, startRedisServer } from '../../bench/lib/servers.js';
import { tempDir } from './server.js';

export type { RedisServer };

/**
 * Debian's redis-server on a free loopback port (or `port`: a restart where the last one was) in a
 * temp folder, no persistence; stopped by pid at teardown.
 */
export async function startRedis(t: Test, options: { readonly port?: number } = {}): Promise<RedisServer> {
  const redis = await startRedisServer(tempDir(t), options);
  t.teardown(redis.stop);
  return redis;
}
