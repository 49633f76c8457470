/**
 * What one accepted update costs SQLite, by the layout of the settings history (docs/benchmarks.md):
 * the schema-1 table keyed by (device, version) WITHOUT ROWID against the append-only log with a
 * unique (device, version) index (migration 2).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/sqlite-layout.js [--rounds N] [--dir PATH]
 *
 * Like the service under load: 10,000 devices, updates to random devices in groups of 40 (one
 * transaction, a savepoint each: the new version and the device's sync row), then one transaction
 * marking them delivered; synchronous=NORMAL, WAL. Prints CPU (user and system) per update: the
 * service is CPU-bound, and CPU is what contention on a shared machine disturbs least.
 */
import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { TELFM_SETTINGS } from './lib/settings.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '1500' }, dir: { type: 'string', default: join('data', 'bench') } } });
const ROUNDS = Number(values.rounds);
const dir = resolve(values.dir);
const DEVICES = 10_000;
const GROUP = 40;
const WARM_UP = 300;

const LAYOUTS = {
  'keyed (schema 1)': `CREATE TABLE settings_versions (device INTEGER NOT NULL REFERENCES devices(id), version INTEGER NOT NULL,
      settings TEXT NOT NULL, changed_by INTEGER REFERENCES users(id), changed_at TEXT NOT NULL,
      PRIMARY KEY (device, version)) WITHOUT ROWID`,
  'log + unique index (schema 2)': `CREATE TABLE settings_versions (id INTEGER PRIMARY KEY, device INTEGER NOT NULL REFERENCES devices(id),
      version INTEGER NOT NULL, settings TEXT NOT NULL, changed_by INTEGER REFERENCES users(id), changed_at TEXT NOT NULL);
    CREATE UNIQUE INDEX settings_versions_device_version ON settings_versions (device, version)`,
} as const;

function run(name: keyof typeof LAYOUTS) {
  const file = join(dir, 'layout.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, login TEXT);
    CREATE TABLE devices (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL UNIQUE, secret_digest BLOB NOT NULL);
    CREATE TABLE device_sync (device INTEGER PRIMARY KEY REFERENCES devices(id), version INTEGER NOT NULL DEFAULT 0,
      settings TEXT, state TEXT NOT NULL DEFAULT 'none', changed_at TEXT, delivered_at TEXT, applied_at TEXT, reason TEXT,
      reported TEXT, reported_at TEXT);
    INSERT INTO users VALUES (1, 'bench');
    ${LAYOUTS[name]};`);
  const addDevice = db.prepare<[number, string, Buffer]>('INSERT INTO devices (id, device_id, secret_digest) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let d = 1; d <= DEVICES; d++) addDevice.run(d, `dev-${d}`, Buffer.alloc(32));
  })();
  const insertVersion = db.prepare<[number, number, string, number, string]>(
    'INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (?, ?, ?, ?, ?)',
  );
  const upsertLatest = db.prepare<[number, number, string, string]>(
    `INSERT INTO device_sync (device, version, settings, state, changed_at) VALUES (?, ?, ?, 'pending', ?)
     ON CONFLICT (device) DO UPDATE SET version = excluded.version, settings = excluded.settings, state = 'pending',
       changed_at = excluded.changed_at, delivered_at = NULL, applied_at = NULL, reason = NULL`,
  );
  const markDelivered = db.prepare<[string, number, number]>(
    `UPDATE device_sync SET state = 'delivered', delivered_at = ? WHERE device = ? AND version = ? AND state = 'pending'`,
  );
  const settings = JSON.stringify(TELFM_SETTINGS);
  const versions = new Int32Array(DEVICES + 1);
  let seed = 1;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  let cpu = process.cpuUsage();
  for (let round = 0; round < ROUNDS + WARM_UP; round++) {
    if (round === WARM_UP) cpu = process.cpuUsage();
    const at = new Date().toISOString();
    const group: Array<[number, number]> = [];
    db.transaction(() => {
      for (let i = 0; i < GROUP; i++) {
        const device = 1 + Math.floor(random() * DEVICES);
        const version = ++versions[device]!;
        db.transaction(() => {
          insertVersion.run(device, version, settings, 1, at);
          upsertLatest.run(device, version, settings, at);
        })();
        group.push([device, version]);
      }
    }).immediate();
    db.transaction(() => {
      for (const [device, version] of group) markDelivered.run(at, device, version);
    })();
  }
  const used = process.cpuUsage(cpu);
  db.close();
  const updates = ROUNDS * GROUP;
  return {
    layout: name,
    updates,
    user_us: round1(used.user / updates),
    system_us: round1(used.system / updates),
    cpu_us: round1((used.user + used.system) / updates),
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

mkdirSync(dir, { recursive: true });
const results = (Object.keys(LAYOUTS) as Array<keyof typeof LAYOUTS>).map(run);
console.log(JSON.stringify({ dir, devices: DEVICES, group: GROUP, results }, null, 2));
