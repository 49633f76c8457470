/**
 * Two HTTP apps over two identical databases (same fleet, same fixed clock), one with the pre-routed
 * fast path and one with every request through fastify: sending the same requests to both must give
 * the same bytes (test/http/fast-path*.test.ts). Each app counts the requests fastify saw, to show
 * which path served them.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { digest } from '../../src/auth/crypto.js';
import { loadConfig } from '../../src/config/load.js';
import type { Services } from '../../src/http/actions.js';
import { buildHttpApp, type HttpOptions } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { openCore } from '../../src/server.js';
import { AuthService } from '../../src/settings/auth-service.js';
import { provision } from '../../src/settings/provisioning.js';
import { TrackerService } from '../../src/settings/tracker-service.js';
import { NO_PUBLISHER } from '../../src/settings/types.js';
import { DAVE } from './fleet.js';
import { extendedFleet } from './http.js';
import { tempDir } from './server.js';

export const FIXED_NOW = Date.parse('2026-01-02T03:04:05.678Z');
/** dave's session hash, the same in both databases (dave has no API key). */
export const DAVE_SESSION = 'dddddddddddddddddddddddddddddd01';

export interface TwinSide {
  readonly port: number;
  /** The app's HTTP server (tests wait for its events instead of sleeping). */
  readonly server: import('node:http').Server;
  /** Requests fastify's onRequest hook saw. */
  fastifyRequests: number;
  /** Starts closing the app (idempotent; the test's teardown waits for it). */
  close(): Promise<void>;
}

export interface Twins {
  readonly fast: TwinSide;
  readonly fastify: TwinSide;
}

async function side(t: Test, fastPath: boolean, http: Partial<HttpOptions>, durable?: Services['durable']): Promise<TwinSide> {
  const config = loadConfig({}, { db: join(tempDir(t), 'trackconf.db'), logLevel: 'silent' });
  const { store, profiles } = await openCore(config);
  await provision(store, profiles, extendedFleet());
  // Devices record when they were created (tracker/list shows it): the same time on both sides.
  store.db.prepare('UPDATE devices SET created_at = ?').run('2026-01-02 03:04:05');
  const dave = store.users.findByLogin(DAVE.login);
  if (!dave) throw new Error('no dave');
  store.users.createSession(digest(DAVE_SESSION), dave.id, FIXED_NOW);
  const clock = () => FIXED_NOW;
  const auth = new AuthService(store, { sessionIdleMs: 30 * 86_400_000, maxLoginFailures: 10, loginWindowMs: 900_000, clock });
  const services: Services = { auth, trackers: new TrackerService(store, profiles, NO_PUBLISHER, clock), ...(durable && { durable }) };
  const app = buildHttpApp(services, {
    bodyLimit: config.http.bodyLimit,
    rateLimitPerCredential: 0,
    rateLimitPerAddress: 0,
    logger: createLogger('silent'),
    isReady: () => true,
    fastPath,
    ...http,
  });
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= app.close().then(() => undefined));
  const counted = { port: 0, fastifyRequests: 0, close, server: app.server };
  app.addHook('onRequest', (_request, _reply, done) => {
    counted.fastifyRequests += 1;
    done();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await close();
    store.close();
  });
  counted.port = (app.server.address() as AddressInfo).port;
  return counted;
}

export async function startTwins(t: Test, http: Partial<HttpOptions> = {}, durable?: Services['durable']): Promise<Twins> {
  const [fast, fastify] = await Promise.all([side(t, true, http, durable), side(t, false, http, durable)]);
  return { fast, fastify };
}
