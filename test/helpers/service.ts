/**
 * The BUILT service (`node dist/src/cli/main.js serve`) as a child process on loopback ports, for
 * tests that kill it (SIGKILL, SIGTERM) and restart it on the same SQLite file. Also: provisioning a
 * database before the first start, a seeded PRNG, and a consistency check of the settings tables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/load.js';
import { openCore } from '../../src/server.js';
import { provision } from '../../src/settings/provisioning.js';
import { builtCli, ROOT } from './cli.js';
import { freePort } from './server.js';

/** Whether the long variants run (`TRACKCONF_LONG_TESTS=1`). */
export const LONG = process.env.TRACKCONF_LONG_TESTS === '1';

/** An integer from the environment, else the CI default, else the long default. */
export function knob(name: string, ci: number, long: number): number {
  const text = process.env[name];
  if (text !== undefined && /^\d+$/.test(text)) return Number(text);
  return LONG ? long : ci;
}

/** mulberry32: small, seeded, good enough to pick kill moments and payloads reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NumberedDevice {
  readonly trackerId: number;
  readonly deviceId: string;
  readonly secret: string;
}

/** `count` devices: tracker ids from `firstTrackerId`, device ids from `firstDeviceId`, secrets `${secretPrefix}-${i}`. */
export function numberedDevices(count: number, firstTrackerId: number, firstDeviceId: number, secretPrefix: string): NumberedDevice[] {
  return Array.from({ length: count }, (_, i) => ({
    trackerId: firstTrackerId + i,
    deviceId: String(firstDeviceId + i),
    secret: `${secretPrefix}-${i}`,
  }));
}

/** Provisions into `db` one user who owns every device of `devices` (telfm trackers labelled by `label`). */
export function provisionOwnedFleet(
  db: string,
  user: { readonly login: string; readonly password: string; readonly api_keys: readonly string[] },
  devices: readonly NumberedDevice[],
  label: (device: NumberedDevice) => string,
): Promise<void> {
  return provisionDb(db, {
    users: [user],
    trackers: devices.map((d) => ({
      id: d.trackerId,
      owner: user.login,
      label: label(d),
      model: 'telfm',
      device_id: d.deviceId,
      device_secret: d.secret,
    })),
  });
}

/** Provisions `file` into a new database at `db` (in this process), as `trackconf import` would. */
export async function provisionDb(db: string, file: unknown): Promise<void> {
  const { store, profiles } = await openCore(loadConfig({}, { db, logLevel: 'silent' }));
  try {
    await provision(store, profiles, file);
  } finally {
    store.close();
  }
}

export interface ServiceOptions {
  readonly db: string;
  /** Extra TRACKCONF_* variables. */
  readonly env?: Record<string, string>;
  readonly logLevel?: string;
  /** How long to wait for /health (default 20 s). */
  readonly startTimeoutMs?: number;
}

export interface Service {
  readonly proc: ChildProcess;
  readonly url: string;
  readonly httpPort: number;
  readonly mqttPort: number;
  /** Everything the process wrote to stdout (JSON log lines) and stderr so far. */
  readonly output: { stdout: string; stderr: string };
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the built service and waits until /health answers 200. */
/**
 * Starts the built service on free ports. A port found free can be taken by another socket (an
 * outgoing connection's ephemeral port) before the service listens on it: then it is started again
 * on other ports (the long crash test restarts it hundreds of times and met this).
 */
export async function spawnService(options: ServiceOptions): Promise<Service> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnOnce(options);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function spawnOnce(options: ServiceOptions): Promise<Service> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [builtCli(), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TRACKCONF_CONFIG: '',
      TRACKCONF_DB: options.db,
      TRACKCONF_HTTP_HOST: '127.0.0.1',
      TRACKCONF_HTTP_PORT: String(httpPort),
      TRACKCONF_MQTT_HOST: '127.0.0.1',
      TRACKCONF_MQTT_PORT: String(mqttPort),
      TRACKCONF_MQTT_WS_PORT: '0',
      TRACKCONF_LOG_LEVEL: options.logLevel ?? 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  proc.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString('utf8')));
  proc.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (gone) throw new Error(`service exited during start: ${output.stderr.slice(-2000)}`);
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`service did not become ready: ${output.stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    proc,
    url,
    httpPort,
    mqttPort,
    output,
    exited,
    kill: (signal) => {
      if (!gone) proc.kill(signal);
    },
  };
}

/** One settings version as stored. */
export interface VersionRow {
  readonly version: number;
  readonly settings: string;
}

export interface DeviceState {
  readonly deviceId: string;
  readonly versions: VersionRow[];
  readonly sync:
    | {
        version: number;
        settings: string | null;
        state: string;
        delivered_at: string | null;
        applied_at: string | null;
      }
    | undefined;
}

/** Every device's versions and sync row, read with a plain connection (recovers the WAL if needed). */
export function readDevices(db: string): Map<string, DeviceState> {
  const conn = new Database(db, { fileMustExist: true });
  try {
    const out = new Map<string, DeviceState>();
    const devices = conn.prepare<[], { id: number; device_id: string }>('SELECT id, device_id FROM devices').all();
    const versions = conn.prepare<[number], VersionRow>('SELECT version, settings FROM settings_versions WHERE device = ? ORDER BY version');
    const sync = conn.prepare<[number], NonNullable<DeviceState['sync']>>(
      'SELECT version, settings, state, delivered_at, applied_at FROM device_sync WHERE device = ?',
    );
    for (const d of devices) out.set(d.device_id, { deviceId: d.device_id, versions: versions.all(d.id), sync: sync.get(d.id) });
    const check = conn.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`quick_check: ${String(check)}`);
    return out;
  } finally {
    conn.close();
  }
}

/**
 * The sync invariants of one device; an empty list when consistent: versions 1..V without holes,
 * sync.version = V, sync.settings = the settings of V, a state allowed for V, timestamps that match it.
 */
export function syncProblems(state: DeviceState): string[] {
  const problems: string[] = [];
  const { versions, sync } = state;
  versions.forEach((row, i) => {
    if (row.version !== i + 1) problems.push(`version ${row.version} at position ${i + 1}`);
  });
  const latest = versions.at(-1);
  if (!latest) {
    if (sync && sync.version !== 0) problems.push(`sync.version ${sync.version} without any version`);
    if (sync && sync.state !== 'none') problems.push(`state ${sync.state} without any version`);
    return problems;
  }
  if (!sync) return [...problems, 'no sync row'];
  if (sync.version !== latest.version) problems.push(`sync.version ${sync.version} ≠ latest ${latest.version}`);
  if (sync.settings !== latest.settings) problems.push('sync.settings ≠ settings of the latest version');
  if (!['pending', 'delivered', 'applied', 'rejected'].includes(sync.state)) problems.push(`state ${sync.state}`);
  if (sync.state === 'pending' && (sync.delivered_at !== null || sync.applied_at !== null)) problems.push('pending with timestamps');
  if (sync.state === 'delivered' && sync.delivered_at === null) problems.push('delivered without delivered_at');
  if (sync.state === 'applied' && sync.applied_at === null) problems.push('applied without applied_at');
  return problems;
}
