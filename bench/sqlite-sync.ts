/**
 * What SQLite's `synchronous` level costs trackconf's writes (docs/reliability.md).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/sqlite-sync.js [--updates N] [--dir PATH]
 *
 * For each level (OFF, NORMAL, FULL; WAL mode as the service runs it) it runs, on a fresh database in
 * --dir (default ./data/bench, the disk the service would use), N times what one accepted update and
 * its tracker's answers write: the update's transaction (new version + sync row), the PUBACK
 * (`delivered`) and the tracker's `applied` ack (a transaction). It prints commits/s and the per-update
 * latency. Nothing here is asserted: timings belong to the machine.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/index.js';
import { TELFM_SETTINGS } from './lib/settings.js';
import { ascending, percentileOf } from './lib/stats.js';

const { values } = parseArgs({ options: { updates: { type: 'string', default: '3000' }, dir: { type: 'string', default: join('data', 'bench') } } });
const updates = Number(values.updates);
const dir = resolve(values.dir);
const DEVICES = 100;

function run(level: 'OFF' | 'NORMAL' | 'FULL') {
  const file = join(dir, `sync-${level.toLowerCase()}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const store = openStore(file, { synchronous: level });
  const { db } = store;
  db.exec(`INSERT INTO users (id, login, password_hash, created_at) VALUES (1, 'bench', 'x', 'now');
           INSERT INTO models (code, tracking_profile, source) VALUES ('telfm', 'telfm', 'config');`);
  const addDevice = db.prepare("INSERT INTO devices (id, device_id, model, secret_digest) VALUES (?, ?, 'telfm', x'00')");
  for (let d = 1; d <= DEVICES; d++) addDevice.run(d, `dev-${d}`);
  const versions = new Map<number, number>();
  const latencies: number[] = [];
  const settings = JSON.stringify(TELFM_SETTINGS);
  const started = performance.now();
  for (let i = 0; i < updates; i++) {
    const device = (i % DEVICES) + 1;
    const version = (versions.get(device) ?? 0) + 1;
    versions.set(device, version);
    const at = new Date().toISOString();
    const t0 = performance.now();
    store.transaction(() => store.settings.appendVersion(device, version, settings, 1, at));
    latencies.push(performance.now() - t0);
    store.settings.delivered(device, version, at);
    store.transaction(() => {
      store.settings.recordAck(device, version, 'applied', null, false, at);
      store.settings.answered(device, version, 'applied', null, at);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  store.close();
  const sorted = ascending(latencies);
  return {
    level,
    updates,
    commits: updates * 3,
    updatesPerSecond: Math.round(updates / seconds),
    commitsPerSecond: Math.round((updates * 3) / seconds),
    updateCommitP50Ms: Number((percentileOf(sorted, 50) ?? 0).toFixed(3)),
    updateCommitP99Ms: Number((percentileOf(sorted, 99) ?? 0).toFixed(3)),
  };
}

mkdirSync(dir, { recursive: true });
const results = (['OFF', 'NORMAL', 'FULL'] as const).map(run);
console.log(JSON.stringify({ dir, results }, null, 2));
const normal = results.find((r) => r.level === 'NORMAL')!;
const full = results.find((r) => r.level === 'FULL')!;
console.log(
  `FULL vs NORMAL: ${(normal.updatesPerSecond / full.updatesPerSecond).toFixed(1)}× fewer updates/s, ` +
    `update commit p50 ${normal.updateCommitP50Ms} → ${full.updateCommitP50Ms} ms, p99 ${normal.updateCommitP99Ms} → ${full.updateCommitP99Ms} ms`,
);
