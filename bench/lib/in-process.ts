import { loadConfig } from '../../src/config/load.js';
import { type Server, startServer } from '../../src/server.js';

export interface InProcessOptions {
  readonly logLevel: 'silent' | 'warn';
  /** Raises the HTTP body limit (fleet-wide bodies carry N tracker ids). */
  readonly bodyLimit?: number;
  /** Turns off both login rate limits (a bench's clients all share one key). */
  readonly noRateLimit?: boolean;
}

/** The service in this process on loopback ports (port 0: whatever is free), its database at `db`. */
export async function startInProcess(db: string, options: InProcessOptions): Promise<{ server: Server; url: string }> {
  const config = loadConfig(
    {},
    {
      db,
      http: { host: '127.0.0.1', port: 0, ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }) },
      mqtt: { host: '127.0.0.1', port: 0, wsPort: 0 },
      ...(options.noRateLimit && { rateLimit: { perCredential: 0, perAddress: 0 } }),
      logLevel: options.logLevel,
    },
  );
  const server = await startServer(config);
  return { server, url: `http://127.0.0.1:${server.ports.http}` };
}

/** `count` telfm trackers of `owner` (ids from 100000), for provisioning. */
export function plainTrackers(owner: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: 100_000 + i,
    owner,
    label: `T${i}`,
    model: 'telfm',
    device_id: String(860_000_000_000_000 + i),
    device_secret: `secret-${i}`,
  }));
}
