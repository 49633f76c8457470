import { parseArgs } from 'node:util';
/**
 * What `trackconf backup` costs the service it copies (docs/operations.md#backup-and-restore).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/backup-while-serving.js [--versions N] [--clients N] [--dir PATH]
 *
 * Starts the service on loopback ports, fills its database with N settings versions (40 MB at the
 * default), then keeps `--clients` HTTP clients sending updates and measures each answer's latency:
 * for 3 s before the backup, while `trackconf backup` (the built CLI, another process) copies the
 * database, and for 3 s after. Prints latency quantiles per phase, the updates answered per second
 * and the backup's own JSON line.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { provision } from '../src/settings/provisioning.js';
import { plainTrackers, startInProcess } from './lib/in-process.js';
import { TELFM_SETTINGS } from './lib/settings.js';
import { ascending, percentileOf } from './lib/stats.js';
import { sqliteDb } from '../src/store/index.js';

const { values: options } = parseArgs({
  options: {
    versions: { type: 'string', default: '200000' },
    clients: { type: 'string', default: '8' },
    dir: { type: 'string', default: join('data', 'bench') },
  },
});
const VERSIONS = Number(options.versions);
const CLIENTS = Number(options.clients);
const dir = resolve(options.dir);
const TRACKERS = 1000;
const API_KEY = '0123456789abcdef0123456789abcdef';

function summary(samples: number[], seconds: number): string {
  const sorted = ascending(samples);
  const at = (p: number) => (percentileOf(sorted, p) ?? NaN).toFixed(1);
  return `${(samples.length / seconds).toFixed(0)} updates/s, p50 ${at(50)} ms, p99 ${at(99)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const db = join(dir, 'backup-while-serving.db');
  const copy = join(dir, 'backup-while-serving.copy.db');
  for (const file of [db, copy]) for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const { server, url: base } = await startInProcess(db, { logLevel: 'warn', noRateLimit: true });
  const login = 'backup@example.com';
  await provision(server.store, server.profiles, {
    users: [{ login, password: 'backup-password-1', api_keys: [API_KEY] }],
    trackers: plainTrackers(login, TRACKERS),
  });
  // History to copy, written straight into the table (the figure is about copying it).
  const settings = JSON.stringify({ ...TELFM_SETTINGS, padding: 'x'.repeat(100) });
  const devices = sqliteDb(server.store).prepare<[], { id: number }>('SELECT id FROM devices').all();
  const insert = sqliteDb(server.store).prepare('INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (?, ?, ?, NULL, ?)');
  server.store.transaction(() => {
    for (let i = 0; i < VERSIONS; i++)
      insert.run(devices[i % devices.length]!.id, 1_000_000 + Math.floor(i / devices.length), settings, new Date().toISOString());
  });
  sqliteDb(server.store).pragma('wal_checkpoint(TRUNCATE)');

  const url = `${base}/tracker/settings/tracking/update`;
  let phase: 'before' | 'during' | 'after' | 'stop' = 'before';
  const latencies = { before: [] as number[], during: [] as number[], after: [] as number[] };
  let n = 0;
  const client = async () => {
    while (phase !== 'stop') {
      const trackerId = 100_000 + (n++ % TRACKERS);
      const started = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          hash: API_KEY,
          tracker_id: trackerId,
          tracking_settings: {
            tracking_angle: 30,
            tracking_distance: 100,
            tracking_interval: 30 + (n % 500),
            on_stop_tracking_interval: 600,
            sleep_mode: 'disabled',
            stop_detection: 'ignition',
          },
        }),
      });
      const body = (await response.json()) as { success: boolean };
      const at = phase as typeof phase | 'stop'; // it changes while the request is out
      if (body.success && at !== 'stop') latencies[at].push(performance.now() - started);
    }
  };
  const clients = Array.from({ length: CLIENTS }, client);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(3000);
  phase = 'during';
  const began = performance.now();
  const cli = resolve('dist', 'src', 'cli', 'main.js');
  const result = await new Promise<{ code: number | null; stdout: string }>((done) => {
    const child = spawn(process.execPath, [cli, 'backup', copy], {
      env: { ...process.env, TRACKCONF_DB: db, TRACKCONF_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.once('close', (code) => done({ code, stdout }));
  });
  const during = (performance.now() - began) / 1000;
  phase = 'after';
  await sleep(3000);
  phase = 'stop';
  await Promise.all(clients);
  process.stdout.write(`backup exit ${result.code}: ${result.stdout.trim()}\n`);
  process.stdout.write(`before (3 s):        ${summary(latencies.before, 3)}\n`);
  process.stdout.write(`during (${during.toFixed(1)} s):      ${summary(latencies.during, during)}\n`);
  process.stdout.write(`after (3 s):         ${summary(latencies.after, 3)}\n`);
  await server.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exitCode = 1;
});
