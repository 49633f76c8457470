import { parseArgs } from 'node:util';
/**
 * How long `/health` and a `tracker/settings/tracking/read` take while a sub-user who sees one
 * tracker sends one SUBSCRIBE of 10 wildcard filters, in a fleet of `--devices` configured devices
 * (docs/reliability.md#7-hostile-clients). Runs the built service (`--main`, default this checkout's
 * dist/src/cli/main.js) as its own process: point `--main` at another build to compare.
 *
 *   node dist/bench/hostile-subscribe.js --devices 50000 --rounds 3 [--main /path/to/dist/src/cli/main.js]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqttPacket from 'mqtt-packet';
import { connect as netConnect } from 'node:net';
import { HttpConnection, encodeRequest } from './lib/http-load.js';
import { freePort, stopProcess, waitForPort } from './lib/proc.js';
import { ROOT, serviceEnv } from './lib/targets.js';
import { HOSTILE_WILDCARDS as FILTERS } from './lib/wildcards.js';

const { values: options } = parseArgs({
  options: {
    devices: { type: 'string', default: '50000' },
    rounds: { type: 'string', default: '3' },
    main: { type: 'string', default: join(ROOT, 'dist/src/cli/main.js') },
  },
});
const DEVICES = Number(options.devices);
const ROUNDS = Number(options.rounds);
const MAIN = options.main;
const OWNER = { login: 'owner@example.com', password: 'owner-password-1' };
const VIEWER = { login: 'viewer@example.com', password: 'viewer-password-1' };
const deviceId = (i: number) => `87${String(i).padStart(13, '0')}`;

function log(msg: string): void {
  process.stdout.write(`${msg}\n`);
}

/** Imports the owner, the viewer bound to the first tracker and `DEVICES` trackers, then gives each device a config version. */
function provision(dir: string, env: NodeJS.ProcessEnv, db: string): void {
  const file = join(dir, 'fleet.json');
  writeFileSync(
    file,
    JSON.stringify({
      users: [OWNER],
      subusers: [{ login: VIEWER.login, password: VIEWER.password, master: OWNER.login, rights: [], trackers: [200_001] }],
      trackers: Array.from({ length: DEVICES }, (_, i) => ({
        id: 200_001 + i,
        owner: OWNER.login,
        label: `Fleet ${i}`,
        model: 'telfm',
        device_id: deviceId(i),
        device_secret: `fleet-secret-${i}`,
      })),
    }),
  );
  const imported = spawnSync(process.execPath, [MAIN, 'import', file], { env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (imported.status !== 0) throw new Error(`import failed: ${imported.stderr}`);
  const sqlite = new Database(db);
  const settings = JSON.stringify({ tracking_interval: 60, tracking_distance: 200, tracking_angle: 25, sleep_mode: 'disabled', sleep_timeout: 300 });
  sqlite.exec('BEGIN');
  sqlite.prepare("UPDATE device_sync SET version = 1, settings = ?, state = 'pending', changed_at = '2026-01-01T00:00:00.000Z'").run(settings);
  sqlite
    .prepare(
      "INSERT INTO device_sync (device, version, settings, state, changed_at) SELECT id, 1, ?, 'pending', '2026-01-01T00:00:00.000Z' FROM devices WHERE id NOT IN (SELECT device FROM device_sync)",
    )
    .run(settings);
  sqlite.exec('COMMIT');
  sqlite.close();
}

async function timed(conn: HttpConnection, port: number, path: string, body?: string): Promise<number> {
  const started = performance.now();
  const answer = await conn.send(encodeRequest(port, { method: body === undefined ? 'GET' : 'POST', path, ...(body !== undefined && { body }) }));
  if (answer.status !== 200) throw new Error(`${path}: HTTP ${answer.status}`);
  return performance.now() - started;
}

/** The viewer's MQTT connection; `subscribe` resolves with the time from SUBSCRIBE to its SUBACK. */
async function observer(port: number) {
  const socket = netConnect({ port, host: '127.0.0.1', noDelay: true });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const waiting = new Map<string, () => void>();
  parser.on('packet', (packet) => {
    if (packet.cmd === 'publish' && packet.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId! }));
    const key = packet.cmd === 'suback' ? `suback:${packet.messageId}` : packet.cmd;
    waiting.get(key)?.();
    waiting.delete(key);
  });
  socket.on('data', (chunk) => parser.parse(chunk));
  const wait = (key: string) => new Promise<void>((resolve) => waiting.set(key, resolve));
  const connack = wait('connack');
  socket.write(
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'viewer-dash',
      username: VIEWER.login,
      password: Buffer.from(VIEWER.password),
      clean: true,
      keepalive: 0,
    }),
  );
  await connack;
  let id = 1;
  return {
    async subscribe(): Promise<number> {
      const messageId = ++id;
      const suback = wait(`suback:${messageId}`);
      const started = performance.now();
      socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: FILTERS.map((topic) => ({ topic, qos: 1 })) }));
      await suback;
      return performance.now() - started;
    },
    close: () => socket.destroy(),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trackconf-hostile-subscribe-'));
  const db = join(dir, 'trackconf.db');
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const env = serviceEnv(db, httpPort, mqttPort);
  const t0 = performance.now();
  provision(dir, env, db);
  log(`${DEVICES} configured devices provisioned in ${((performance.now() - t0) / 1000).toFixed(1)} s (${MAIN})`);
  const child = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', openSync(join(dir, 'service.log'), 'a'), 'inherit'], cwd: dir });
  try {
    await waitForPort(httpPort, 30_000, child);
    await waitForPort(mqttPort, 30_000, child);
    const health = new HttpConnection(httpPort);
    const reads = new HttpConnection(httpPort);
    await Promise.all([health.open(), reads.open()]);
    const auth = await reads.send(encodeRequest(httpPort, { method: 'POST', path: '/user/auth', body: JSON.stringify(OWNER) }));
    const hash = (JSON.parse(auth.body.toString('utf8')) as { hash: string }).hash;
    const readBody = JSON.stringify({ hash, tracker_id: 200_002 });
    for (let i = 0; i < 20; i++) await Promise.all([timed(health, httpPort, '/health'), timed(reads, httpPort, '/tracker/settings/tracking/read', readBody)]);
    const idle = await Promise.all([timed(health, httpPort, '/health'), timed(reads, httpPort, '/tracker/settings/tracking/read', readBody)]);
    log(`idle: /health ${idle[0].toFixed(1)} ms, read ${idle[1].toFixed(1)} ms`);
    const viewer = await observer(mqttPort);
    for (let round = 1; round <= ROUNDS; round++) {
      const subscribing = viewer.subscribe();
      // sent right behind the SUBSCRIBE: they wait for whatever the event loop does with it
      await new Promise((r) => setTimeout(r, 1));
      const [healthMs, readMs, subackMs] = await Promise.all([
        timed(health, httpPort, '/health'),
        timed(reads, httpPort, '/tracker/settings/tracking/read', readBody),
        subscribing,
      ]);
      log(
        `round ${round}: 10-filter wildcard SUBSCRIBE → SUBACK ${subackMs.toFixed(1)} ms; meanwhile /health ${healthMs.toFixed(1)} ms, read ${readMs.toFixed(1)} ms`,
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    viewer.close();
    health.close();
    reads.close();
  } finally {
    await stopProcess(child, 30_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
