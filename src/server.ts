import type { FastifyInstance } from 'fastify';
import { readFileSync, statSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { startBroker, type Broker } from './broker/index.js';
import type { Followed } from './broker/aedes-internals/guard.js';
import type { ListenerSpec } from './broker/listeners.js';
import { ConfigError } from './config/load.js';
import type { Config } from './config/schema.js';
import { ACTIONS } from './http/actions.js';
import { buildHttpApp, type HttpOptions } from './http/app.js';
import { loadModels, loadProfiles, type ProfileRegistry } from './profiles/index.js';
import { ScryptThreads } from './auth/scrypt-threads.js';
import { AuthService } from './settings/auth-service.js';
import type { RedisLimits } from './cluster/redis-limits.js';
import { inProcessLimits, type LimitStore } from './settings/limits.js';
import { DeviceService } from './settings/device-service.js';
import { TrackerService } from './settings/tracker-service.js';
import { openStore, redactedUrl, type SqliteStore, type Store, type StoreOptions } from './store/index.js';
import type { Fsync } from './store/wal-sync.js';
import { createLogger, defaultNodeId } from './logger.js';
import { Metrics } from './metrics.js';

export interface Server {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly profiles: ProfileRegistry;
  readonly http: FastifyInstance;
  readonly https: FastifyInstance | undefined;
  readonly broker: Broker;
  readonly devices: DeviceService;
  readonly metrics: Metrics;
  /** The real ports (useful when 0 was configured). */
  readonly ports: { readonly http: number; readonly https?: number; readonly mqtt?: number; readonly ws?: number; readonly mqtts?: number };
  close(): Promise<void>;
}

type CoreOptions = { service?: boolean } & Pick<StoreOptions, 'fsync' | 'onCheckpoint'>;

/** Loads profiles and models, opens the store (PostgreSQL when `databaseUrl` is set) and writes the configured models into it. */
export async function openCore(config: Readonly<Config>, options: CoreOptions = {}): Promise<{ store: Store; profiles: ProfileRegistry }> {
  if (!config.databaseUrl) return openSqliteCore(config, options);
  const profiles = loadProfiles(config.profilesDir);
  return { store: withModels(await openPostgres(config.databaseUrl), config, profiles), profiles };
}

/** openCore for the SQLite file `config.db`, synchronously. */
export function openSqliteCore(
  config: Readonly<Config>,
  { service = false, ...storeOptions }: CoreOptions = {},
): { store: SqliteStore; profiles: ProfileRegistry } {
  const profiles = loadProfiles(config.profilesDir);
  // The service flushes the WAL off the event loop and holds every answer until it is on disk; a CLI
  // command, which exits right after its commit, lets SQLite sync inside the commit.
  const open = () => openStore(config.db, { synchronous: config.dbSynchronous, flushWalOffThread: service, ...storeOptions });
  return { store: withModels(openDatabaseFile(config.db, open), config, profiles), profiles };
}

function withModels<S extends Store>(store: S, config: Readonly<Config>, profiles: ProfileRegistry): S {
  try {
    const models = loadModels(config.modelsFile, profiles);
    store.transaction(() => {
      for (const model of models) store.trackers.upsertModel(model.code, model.trackingProfile, 'config');
    });
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}

/** The PostgreSQL store; a database that cannot be reached stops the start as a ConfigError (without the password). */
async function openPostgres(url: string): Promise<Store> {
  // loaded only here: one node on SQLite never loads a PostgreSQL client
  const [{ openPgStore }, { PgError }] = await Promise.all([import('./store/pg/open.js'), import('./store/pg/sync-pg.js')]);
  try {
    return await openPgStore(url, { applicationName: 'trackconf' });
  } catch (err) {
    if (!(err instanceof PgError)) throw err;
    throw new ConfigError(`TRACKCONF_DATABASE_URL ${redactedUrl(url)}: cannot open the database: ${err.message}`);
  }
}

/** SQLite result codes that mean the file, its folder or the disk, not the program (a bug keeps its stack). */
const FILE_ERROR = /^SQLITE_(CANTOPEN|READONLY|NOTADB|IOERR|PERM|AUTH|FULL|CORRUPT)/;

/**
 * Opens the database; a path that cannot hold one (a folder, a read-only file, a path under a file,
 * a missing permission, /proc) stops the start as a ConfigError naming the path and the cause.
 */
function openDatabaseFile<T>(file: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !(FILE_ERROR.test(code) || /^E[A-Z]+$/.test(code))) throw err;
    let isFolder = false;
    try {
      isFolder = statSync(file, { throwIfNoEntry: false })?.isDirectory() === true;
    } catch {
      // ENOTDIR and the like: the error itself says it
    }
    const cause = isFolder ? 'it is a folder' : `${(err as Error).message.replace(/^\w+: /, '')} (${code})`;
    throw new ConfigError(`TRACKCONF_DB ${file}: cannot open the database: ${cause}`);
  }
}

/** A listener that could not bind (port in use, no permission, unknown host) as one readable line. */
function listenError(err: unknown, what: (port: number) => string): unknown {
  const e = err as { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
  if (e.syscall !== 'listen' && e.code !== 'EADDRINUSE' && e.code !== 'EACCES' && e.code !== 'EADDRNOTAVAIL') return err;
  const cause = e.code === 'EADDRINUSE' ? 'the port is already in use' : e.code === 'EACCES' ? 'no permission to bind it' : String(e.code);
  return new ConfigError(`${what(Number(e.port))} ${String(e.address)}:${String(e.port)}: cannot listen: ${cause} (${String(e.code)})`);
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

/** The setting to change when a listener's port is taken. */
const LISTENER_SETTING: Readonly<Record<ListenerSpec['name'], string>> = {
  mqtt: 'TRACKCONF_MQTT_PORT',
  'mqtt-ws': 'TRACKCONF_MQTT_WS_PORT',
  mqtts: 'TRACKCONF_MQTTS_PORT',
};

function listenerSpecs(config: Readonly<Config>, tls: { cert: Buffer; key: Buffer } | undefined): ListenerSpec[] {
  const { host } = config.mqtt;
  const guard = { connectTimeoutMs: config.mqtt.connectTimeoutMs, maxUnauthenticatedPerAddress: config.mqtt.maxUnauthenticatedPerAddress };
  const specs: ListenerSpec[] = [{ name: 'mqtt', host, port: config.mqtt.port, guard }];
  if (config.mqtt.wsPort !== 0) specs.push({ name: 'mqtt-ws', host, port: config.mqtt.wsPort, guard });
  if (tls) specs.push({ name: 'mqtts', host, port: config.tls.mqttsPort, tls, guard });
  return specs;
}

function addressPort(app: FastifyInstance): number {
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** The WAL file's size in bytes (0 when there is none). */
/** The composition root: builds every part once and hands each its dependencies. */
export async function startServer(
  config: Readonly<Config>,
  outside: { fsync?: Fsync; followed?: Followed; logDestination?: DestinationStream; clock?: () => number } = {},
): Promise<Server> {
  const tls = readTls(config);
  const node = config.nodeId ?? defaultNodeId();
  const { followed, logDestination, clock, ...storeOutside } = outside;
  const logger = createLogger(config.logLevel, logDestination, node);
  const { store, profiles } = await openCore(config, {
    service: true,
    ...storeOutside,
    onCheckpoint: ({ error }) => error && logger.error({ err: error }, 'WAL checkpoint by the worker failed (the service checkpoints itself meanwhile)'),
  });
  const claimRefused = store.claimNode(config.redisUrl !== null);
  if (claimRefused) {
    store.close();
    throw new ConfigError(`TRACKCONF_DATABASE_URL: ${claimRefused}`);
  }
  await store.watchOtherNodes((message, err) => logger.warn({ err }, message));
  let ready = false;
  // Several nodes count the limits together in Redis; one node in its memory (docs/api.md#limits).
  let redisLimits: RedisLimits | undefined;
  if (config.redisUrl) {
    try {
      const { RedisLimits } = await import('./cluster/redis-limits.js');
      redisLimits = await RedisLimits.connect(config.redisUrl, logger);
    } catch (err) {
      store.close();
      throw new ConfigError(`TRACKCONF_REDIS_URL: cannot connect to Redis: ${(err as Error).message}`);
    }
  }
  const limits: LimitStore = redisLimits ?? inProcessLimits();
  const scrypt = new ScryptThreads(config.login.passwordChecks);
  const auth = new AuthService(store, {
    sessionIdleMs: config.sessionIdleDays * 86_400_000,
    maxLoginFailures: config.login.maxFailures,
    loginWindowMs: config.login.windowSeconds * 1000,
    passwordChecks: config.login.passwordChecks,
    passwordCheckQueue: config.login.passwordCheckQueue,
    deriveKey: scrypt.derive,
    limits,
  });
  let broker: Broker;
  const metrics = new Metrics(
    {
      // Scraped only once the HTTP listener is up, after the broker started.
      connectedTrackers: () => broker.connectedTrackers(),
      trackersByState: () => (store.db.open ? store.settings.devicesByState() : []),
      walBytes: () => store.walBytes(),
      malformedPayloads: () => devices.counters.malformed,
      loginFailures: () => ({ failures: auth.counters.loginFailures, throttled: auth.counters.loginThrottled }),
    },
    ACTIONS.keys(),
    { node },
  );
  const { logIntervalSeconds, ...answerLimits } = config.trackerAnswers;
  const devices = new DeviceService(store, auth, { log: logger, onSyncChange: (change) => metrics.syncChanged(change), answerLimits });
  const httpOptions: HttpOptions = {
    bodyLimit: config.http.bodyLimit,
    rateLimitPerCredential: config.rateLimit.perCredential,
    rateLimitPerAddress: config.rateLimit.perAddress,
    limits,
    requestTimeoutMs: config.http.requestTimeoutMs,
    headersTimeoutMs: config.http.headersTimeoutMs,
    corsOrigins: config.http.corsOrigins,
    logger,
    isReady: () => ready,
    // Request lines come from fastify: with them on, every request goes through it.
    logRequests: config.http.logRequests,
    fastPath: !config.http.logRequests,
    counters: metrics,
    metrics: { contentType: metrics.contentType, text: () => metrics.text(), token: config.metrics.token },
    failure: () => store.failure(),
    // Asked by /health only once the listeners are up, after the broker started.
    degraded: () => broker.degraded,
  };
  const specs = listenerSpecs(config, tls);
  try {
    broker = await startBroker(
      devices,
      {
        listeners: specs,
        maxPayloadBytes: config.mqtt.maxPayloadBytes,
        connectsPerSecondPerAddress: config.mqtt.connectsPerSecondPerAddress,
        limits,
        maxFiltersPerSubscribe: config.mqtt.maxFiltersPerSubscribe,
        maxSubscriptionsPerClient: config.mqtt.maxSubscriptionsPerClient,
        maxTopicLength: config.mqtt.maxTopicLength,
        maxQueuedPerSession: config.mqtt.maxQueuedPerSession,
        maxInflightQos2: config.mqtt.maxInflightQos2,
        redisUrl: config.redisUrl,
        ...(followed && { followed }),
        answerLogIntervalMs: logIntervalSeconds * 1000,
        // the broker's clock (tests advance it instead of sleeping)
        ...(clock && { now: clock }),
        counters: metrics,
      },
      logger,
    );
  } catch (err) {
    store.close();
    scrypt.close();
    await redisLimits?.close();
    throw listenError(err, (port) => LISTENER_SETTING[specs.find((spec) => spec.port === port)?.name ?? 'mqtt']);
  }
  const trackers = new TrackerService(store, profiles, broker, undefined, logger);
  const services = { auth, trackers, durable: () => store.durable() };
  const http = buildHttpApp(services, httpOptions);
  const https = tls ? buildHttpApp(services, { ...httpOptions, https: tls }) : undefined;
  try {
    await http.listen({ host: config.http.host, port: config.http.port });
    if (https) await https.listen({ host: config.http.host, port: config.tls.httpsPort });
  } catch (err) {
    await Promise.allSettled([http.close(), https?.close(), broker.close()]);
    store.close();
    scrypt.close();
    await redisLimits?.close();
    throw listenError(err, (port) => (port === config.tls.httpsPort && https ? 'TRACKCONF_HTTPS_PORT' : 'TRACKCONF_HTTP_PORT'));
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
    metrics,
    ports,
    close() {
      closing ??= (async () => {
        ready = false;
        // In-flight requests finish (and publish) before the broker and then the database go.
        await Promise.all([http.close(), https?.close()]);
        await broker.close();
        store.close();
        scrypt.close();
        await redisLimits?.close();
      })();
      return closing;
    },
  };
}
