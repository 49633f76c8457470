/**
 * Thousands of devices with a config version, written straight into SQLite (provisioning them
 * through the import would take minutes): the "rest of the fleet" of hostile-observer tests.
 */
import type { Server } from '../../src/server.js';
import { sqliteDb } from '../../src/store/index.js';

/** Adds `count` devices, each behind a tracker of `ownerLogin` and with config version 1; returns their ids. */
export function addConfiguredDevices(server: Server, ownerLogin: string, count: number): string[] {
  const db = sqliteDb(server.store);
  const owner = db.prepare<[string], { id: number }>('SELECT id FROM users WHERE login = ?').get(ownerLogin);
  if (!owner) throw new Error(`no user ${ownerLogin}`);
  const device = db.prepare<[string]>("INSERT INTO devices (device_id, model, secret_digest) VALUES (?, 'panic_button', x'00')");
  const tracker = db.prepare<[number, string, number | bigint]>('INSERT INTO trackers (owner_id, label, device) VALUES (?, ?, ?)');
  const sync = db.prepare<[number | bigint, string]>(
    "INSERT INTO device_sync (device, version, settings, state, changed_at) VALUES (?, 1, ?, 'pending', '2026-01-01T00:00:00.000Z')",
  );
  const ids: string[] = [];
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const deviceId = `8${String(i).padStart(14, '0')}`;
      const row = device.run(deviceId);
      tracker.run(owner.id, `Fleet ${i}`, row.lastInsertRowid);
      sync.run(row.lastInsertRowid, JSON.stringify({ tracking_interval: 60 + (i % 60), note: `device ${i}` }));
      ids.push(deviceId);
    }
  })();
  return ids;
}
