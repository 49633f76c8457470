import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { startBroker, type Broker } from './broker/index.js';
import type { ListenerSpec } from './broker/listeners.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { buildHttpApp, type HttpOptions } from './http/app.js';
import { loadModels, loadProfiles, type ProfileRegistry } from './profiles/index.js';
import { ScryptThreads } from './auth/scrypt-threads.js';
import { AuthService } from './settings/auth-service.js';
import { DeviceService } from './settings/device-service.js';
import { TrackerService } from './settings/tracker-service.js';
import { openStore, type Store, type StoreOptions } from './store/index.js';
import type { Fsync } from './store/wal-sync.js';
import { createLogger } from './logger.js';

export interface Server {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly profiles: ProfileRegistry;
  readonly http: FastifyInstance;
  readonly https: FastifyInstance | undefined;
  readonly broker: Broker;
  readonly devices: DeviceService;
  /** The real ports (useful when 0 was configured). */
  readonly ports: { readonly http: number; readonly https?: number; readonly mqtt?: number; readonly ws?: number; readonly mqtts?: number };
  close(): Promise<void>;
}

/** Loads profiles and models, opens the store and writes the configured models into it. */
export function openCore(
  config: Readonly<Config>,
  { service = false, ...storeOptions }: { service?: boolean } & Pick<StoreOptions, 'fsync' | 'onCheckpoint'> = {},
): { store: Store; profiles: ProfileRegistry } {
  const profiles = loadProfiles(config.profilesDir);
  const models = loadModels(config.modelsFile, profiles);
  // The service flushes the WAL off the event loop and holds every answer until it is on disk; a CLI
  // command, which exits right after its commit, lets SQLite sync inside the commit.
  const store = openStore(config.db, { synchronous: config.dbSynchronous, flushWalOffThread: service, ...storeOptions });
  store.transaction(() => {
    for (const model of models) store.trackers.upsertModel(model.code, model.trackingProfile, 'config');
  });
  return { store, profiles };
}

function readTls(config: Readonly<Config>): { cert: Buffer; key: Buffer } | undefined {
  if (!config.tls.cert || !config.tls.key) return undefined;
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${what} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  return { cert: read(config.tls.cert, 'TLS certificate'), key: read(config.tls.key, 'TLS key') };
}

function listenerSpecs(config: Readonly<Config>, tls: { cert: Buffer; key: Buffer } | undefined): ListenerSpec[] {
  const { host } = config.mqtt;
  const specs: ListenerSpec[] = [{ name: 'mqtt', host, port: config.mqtt.port }];
  if (config.mqtt.wsPort !== 0) specs.push({ name: 'mqtt-ws', host, port: config.mqtt.wsPort });
  if (tls) specs.push({ name: 'mqtts', host, port: config.tls.mqttsPort, tls });
  return specs;
}

function addressPort(app: FastifyInstance): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** The composition root: builds every part once and hands each its dependencies. */
export async function startServer(config: Readonly<Config>, outside: { fsync?: Fsync } = {}): Promise<Server> {
  const tls = readTls(config);
  const logger = createLogger(config.logLevel);
  const { store, profiles } = openCore(config, {
    service: true,
    ...outside,
    onCheckpoint: ({ error }) => error && logger.error({ err: error }, 'WAL checkpoint by the worker failed (the service checkpoints itself meanwhile)'),
  });
  let ready = false;
  const scrypt = new ScryptThreads(config.login.passwordChecks);
  const auth = new AuthService(store, {
    sessionIdleMs: config.sessionIdleDays * 86_400_000,
    maxLoginFailures: config.login.maxFailures,
    loginWindowMs: config.login.windowSeconds * 1000,
    passwordChecks: config.login.passwordChecks,
    passwordCheckQueue: config.login.passwordCheckQueue,
    deriveKey: scrypt.derive,
  });
  const devices = new DeviceService(store, auth);
  const httpOptions: HttpOptions = {
    bodyLimit: config.http.bodyLimit,
    rateLimitPerCredential: config.rateLimit.perCredential,
    rateLimitPerAddress: config.rateLimit.perAddress,
    requestTimeoutMs: config.http.requestTimeoutMs,
    headersTimeoutMs: config.http.headersTimeoutMs,
    logger,
    isReady: () => ready,
    failure: () => store.failure(),
  };
  let broker: Broker;
  try {
    broker = await startBroker(
      devices,
      {
        listeners: listenerSpecs(config, tls),
        maxPayloadBytes: config.mqtt.maxPayloadBytes,
        connectsPerSecondPerAddress: config.mqtt.connectsPerSecondPerAddress,
      },
      logger,
    );
  } catch (err) {
    store.close();
    scrypt.close();
    throw err;
  }
  const services = { auth, trackers: new TrackerService(store, profiles, broker), durable: () => store.durable() };
  const http = buildHttpApp(services, httpOptions);
  const https = tls ? buildHttpApp(services, { ...httpOptions, https: tls }) : undefined;
  try {
    await http.listen({ host: config.http.host, port: config.http.port });
    if (https) await https.listen({ host: config.http.host, port: config.tls.httpsPort });
  } catch (err) {
    await Promise.allSettled([http.close(), https?.close(), broker.close()]);
    store.close();
    scrypt.close();
    throw err;
  }
  const ports = {
    http: addressPort(http),
    ...(https && { https: addressPort(https) }),
    mqtt: broker.port('mqtt'),
    ws: broker.port('mqtt-ws'),
    mqtts: broker.port('mqtts'),
  };
  ready = true;
  logger.info({ ports }, 'trackconf ready');
  let closing: Promise<void> | undefined;
  return {
    config,
    store,
    profiles,
    http,
    https,
    broker,
    devices,
    ports,
    close() {
      closing ??= (async () => {
        ready = false;
        // In-flight requests finish (and publish) before the broker and then the database go.
        await Promise.all([http.close(), https?.close()]);
        await broker.close();
        store.close();
        scrypt.close();
      })();
      return closing;
    },
  };
}
