import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { HttpConnection, encodeRequest } from './http-load.js';
import { freePort, spawnPinned, stopProcess, waitForPort, which } from './proc.js';
import type { FleetDevice } from './fleet.js';
import { sleep } from './stats.js';

export const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const MAIN = join(ROOT, 'dist/src/cli/main.js');

export const BENCH_USER = { login: 'bench@example.com', password: 'bench-password-1' };
export const BENCH_PROFILE = 'telfm';

export interface BenchTracker extends FleetDevice {
  readonly trackerId: number;
}

/** N trackers of one user, each with its own device id and known secret. */
export function benchFleet(count: number): BenchTracker[] {
  return Array.from({ length: count }, (_, i) => ({
    trackerId: 100_001 + i,
    deviceId: `86${String(i).padStart(13, '0')}`,
    secret: `bench-secret-${i}-${(i * 7919) % 100_003}`,
  }));
}

/** The environment a bench runs `trackconf` in: database `db`, HTTP and MQTT on loopback, no WebSocket listener. */
export function serviceEnv(db: string, httpPort: number, mqttPort: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TRACKCONF_DB: db,
    TRACKCONF_HTTP_HOST: '127.0.0.1',
    TRACKCONF_HTTP_PORT: String(httpPort),
    TRACKCONF_MQTT_HOST: '127.0.0.1',
    TRACKCONF_MQTT_PORT: String(mqttPort),
    TRACKCONF_MQTT_WS_PORT: '0',
    TRACKCONF_LOG_LEVEL: 'warn',
  };
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly importSeconds: number;
  readonly hash: string;
  stop(): Promise<number | string>;
}

/** Provisions the fleet with `trackconf import`, then starts `trackconf serve` on `core`. */
export async function startService(options: {
  dir: string;
  fleet: readonly BenchTracker[];
  core: number | undefined;
  nodeArgs?: readonly string[];
  log: (msg: string) => void;
}): Promise<ServiceProcess> {
  const db = join(options.dir, 'trackconf.db');
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const env = { ...serviceEnv(db, httpPort, mqttPort), ...NO_RATE_LIMITS };
  const importSeconds = importFleet(options.dir, options.fleet, env);
  options.log(`imported ${options.fleet.length} trackers in ${importSeconds.toFixed(1)} s`);
  const node = await serveNode({
    env,
    httpPort,
    mqttPort,
    core: options.core,
    nodeArgs: options.nodeArgs,
    cwd: options.dir,
    logFile: join(options.dir, 'service.log'),
  });
  return { ...node, importSeconds };
}

/** The bench measures the service, not its limits: rate limits off (docs/configuration.md). */
export const NO_RATE_LIMITS = { TRACKCONF_RATE_LIMIT: '0', TRACKCONF_RATE_LIMIT_PER_ADDRESS: '0' } as const;

/** Writes the bench user and `fleet` to `dir`/fleet.json and runs `trackconf import` with `env`; returns its seconds. */
export function importFleet(dir: string, fleet: readonly BenchTracker[], env: NodeJS.ProcessEnv): number {
  const file = join(dir, 'fleet.json');
  writeFileSync(
    file,
    JSON.stringify({
      users: [BENCH_USER],
      trackers: fleet.map((t) => ({
        id: t.trackerId,
        owner: BENCH_USER.login,
        label: `Bench ${t.trackerId}`,
        model: BENCH_PROFILE,
        device_id: t.deviceId,
        device_secret: t.secret,
      })),
    }),
  );
  const t0 = performance.now();
  const imported = spawnSync(process.execPath, [MAIN, 'import', file], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (imported.status !== 0) throw new Error(`trackconf import failed (${imported.status}): ${imported.stderr}`);
  return (performance.now() - t0) / 1000;
}

/**
 * `trackconf serve` with `env` (whose HTTP and MQTT ports are `httpPort` and `mqttPort`) on `core`,
 * its output appended to `logFile`; resolves once /health answers and the bench user is signed in.
 */
export async function serveNode(options: {
  env: NodeJS.ProcessEnv;
  httpPort: number;
  mqttPort: number;
  core: number | undefined;
  nodeArgs?: readonly string[] | undefined;
  cwd: string;
  logFile: string;
}): Promise<Omit<ServiceProcess, 'importSeconds'>> {
  const { httpPort, mqttPort } = options;
  const out = openSync(options.logFile, 'a');
  const child = spawnPinned(options.core, process.execPath, [...(options.nodeArgs ?? []), MAIN, 'serve'], {
    env: options.env,
    stdio: ['ignore', out, out],
    cwd: options.cwd,
  });
  closeSync(out);
  try {
    await waitForPort(httpPort, 30_000, child);
    await waitForPort(mqttPort, 30_000, child);
    const conn = new HttpConnection(httpPort);
    await conn.open();
    for (let i = 0; ; i++) {
      const health = await conn.send(encodeRequest(httpPort, { method: 'GET', path: '/health' }));
      if (health.status === 200) break;
      if (i > 100) throw new Error('service never became ready');
      await sleep(100);
    }
    const auth = await conn.send(encodeRequest(httpPort, { method: 'POST', path: '/user/auth', body: JSON.stringify(BENCH_USER) }));
    conn.close();
    const hash = (JSON.parse(auth.body.toString('utf8')) as { hash?: string }).hash;
    if (!hash) throw new Error(`user/auth failed: ${auth.body.toString('utf8')}`);
    return { child, pid: child.pid!, httpPort, mqttPort, hash, stop: () => stopProcess(child, 60_000) };
  } catch (err) {
    await stopProcess(child, 5_000);
    throw err;
  }
}

export interface SimpleProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  stop(): Promise<number | string>;
}

export async function startRawHttp(core: number | undefined): Promise<SimpleProcess> {
  const port = await freePort();
  const child = spawnPinned(core, process.execPath, [join(ROOT, 'dist/bench/raw-http.js'), String(port)], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(port, 10_000, child);
  return { child, pid: child.pid!, port, stop: () => stopProcess(child) };
}

/** Debian's mosquitto, installed with apt-get when missing; undefined when it cannot be had. */
export function ensureMosquitto(log: (msg: string) => void): { path: string; version: string } | undefined {
  let path = which('mosquitto');
  if (!path) {
    log('mosquitto not found: installing it with apt-get (Debian package "mosquitto")');
    const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
    const run = (args: string[]) => {
      const [cmd, ...rest] = [...sudo, ...args];
      return spawnSync(cmd!, rest, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
    };
    if (!run(['apt-get', 'install', '-y', '--no-install-recommends', 'mosquitto'])) {
      run(['apt-get', 'update']);
      run(['apt-get', 'install', '-y', '--no-install-recommends', 'mosquitto']);
    }
    path = which('mosquitto');
    if (!path) return undefined;
  }
  const help = spawnSync(path, ['-h'], { encoding: 'utf8' });
  const version = /mosquitto version (\S+)/.exec(`${help.stdout}${help.stderr}`)?.[1] ?? 'unknown';
  return { path, version };
}

export async function startMosquitto(binary: string, dir: string, core: number | undefined): Promise<SimpleProcess> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'set_tcp_nodelay true',
      'persistence false',
      'max_queued_messages 1000',
      'max_inflight_messages 20',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const out = openSync(join(dir, 'mosquitto.log'), 'a');
  const child = spawnPinned(core, binary, ['-c', conf], { stdio: ['ignore', out, out] });
  await waitForPort(port, 10_000, child);
  return { child, pid: child.pid!, port, stop: () => stopProcess(child) };
}
