import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tap, { type Test } from 'tap';
import { startPostgres, type PostgresServer } from './postgres.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { deepMerge } from '../../src/json.js';
import { startServer, type Server } from '../../src/server.js';
import { provision } from '../../src/settings/provisioning.js';
import type { Fsync } from '../../src/store/wal-sync.js';
import { fleetFile } from './fleet.js';

/** A port that was free a moment ago (for listeners where 0 means "off", like the WebSocket one). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** A fresh folder removed when the test ends (t.testdir() is one per test and is reset when called again). */
export function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'trackconf-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer {
  readonly server: Server;
  readonly dbFile: string;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly mqttUrl: string;
  readonly wsUrl: string;
}

export interface StartOptions {
  /** Config overrides (deep-merged over the defaults). */
  readonly config?: Record<string, unknown>;
  /** The provisioning file to import first; the standard fleet unless given; null for none. */
  readonly fleet?: unknown;
  /** Reuse a database file (restart tests). */
  readonly dbFile?: string;
  /** Stands in for fs.fsync of the WAL (tests that hold the disk flush). */
  readonly fsync?: Fsync;
  /** The broker's clock (its per-address connect limit): a test advances it instead of sleeping. */
  readonly clock?: () => number;
}

/** The ports a user's `npm start` may hold beside the tests: a test server never binds them. */
const DEFAULT_PORTS = new Set([8080, 1883, 8083, 8883, 8443]);

export function refusePublicPorts(config: Readonly<Config>): void {
  const ports = [config.http.port, config.mqtt.port, config.mqtt.wsPort];
  if (config.tls.cert !== null) ports.push(config.tls.mqttsPort, config.tls.httpsPort);
  const taken = ports.filter((port) => DEFAULT_PORTS.has(port));
  if (taken.length > 0) throw new Error(`a test server must not bind the default port(s) ${taken.join(', ')}: use port 0 or freePort()`);
}

/** A real server on loopback ports with a fresh SQLite file, closed when the test ends. */
export async function startTestServer(t: Test, options: StartOptions = {}): Promise<TestServer> {
  const dbFile = options.dbFile ?? join(tempDir(t), 'trackconf.db');
  const pgUrl = process.env.TRACKCONF_TEST_POSTGRES === '1' && !options.dbFile ? await freshPostgresDatabase() : undefined;
  const start = async () => {
    const loopback = {
      db: dbFile,
      ...(pgUrl && { databaseUrl: pgUrl }),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort() },
      logLevel: 'silent',
    };
    const config = loadConfig({}, deepMerge(loopback, options.config ?? {}));
    refusePublicPorts(config);
    return startServer(config, { ...(options.fsync && { fsync: options.fsync }), ...(options.clock && { clock: options.clock }) });
  };
  // a port free a moment ago may be taken meanwhile by a server another test process starts: pick again
  let server: Server;
  for (let attempt = 1; ; attempt++) {
    try {
      server = await start();
      break;
    } catch (err) {
      if (attempt === 3 || !/already in use/.test((err as Error).message)) throw err;
    }
  }
  t.teardown(() => server.close());
  const fleet = options.fleet === undefined ? fleetFile() : options.fleet;
  if (fleet !== null) await provision(server.store, server.profiles, fleet);
  return {
    server,
    dbFile,
    url: `http://127.0.0.1:${server.ports.http}`,
    mqttUrl: `mqtt://127.0.0.1:${server.ports.mqtt}`,
    wsUrl: `ws://127.0.0.1:${server.ports.ws}/mqtt`,
  };
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, any>;
  readonly headers: Headers;
}

/** POST JSON over a real socket. */
export async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const response = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers };
}

/** GET with a query string over a real socket. */
export async function get(url: string, path: string, query: Record<string, string>, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const response = await fetch(`${url}/${path}?${new URLSearchParams(query)}`, { headers });
  return { status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers };
}

/** POST application/x-www-form-urlencoded over a real socket. */
export async function form(url: string, path: string, fields: Record<string, string>): Promise<ApiAnswer> {
  const response = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers };
}

/** A session hash for a login (through the real user/auth call). */
export async function login(url: string, user: { login: string; password: string }): Promise<string> {
  const answer = await post(url, 'user/auth', { login: user.login, password: user.password });
  if (answer.body.success !== true) throw new Error(`login failed: ${JSON.stringify(answer.body)}`);
  return answer.body.hash as string;
}

let sharedPostgres: Promise<PostgresServer> | undefined;

/**
 * A fresh database on one PostgreSQL server per test process (started on first use, stopped when the
 * process' tests end): `TRACKCONF_TEST_POSTGRES=1 npx tap <files>` runs those files' servers on it.
 */
async function freshPostgresDatabase(): Promise<string> {
  sharedPostgres ??= startPostgres(tap as unknown as Test);
  return (await sharedPostgres).createDatabase();
}
