import Database from 'better-sqlite3';
import t from 'tap';
import { migrate } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { databaseAtSchema, seedUserAndModel } from '../helpers/old-database.js';

t.test('a database of schema 1 keeps every settings version through the later migrations', async (t) => {
  const db = databaseAtSchema(t, 1);
  seedUserAndModel(db);
  const device = db.prepare("INSERT INTO devices (id, device_id, model, secret_digest) VALUES (?, ?, 'telfm', x'00')");
  device.run(1, 'dev-1');
  device.run(2, 'dev-2');
  const version = db.prepare('INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (?, ?, ?, 1, ?)');
  version.run(2, 1, '{"a":1}', '2026-01-01T00:00:00.000Z');
  version.run(1, 1, '{"b":1}', '2026-01-01T00:00:01.000Z');
  version.run(2, 2, '{"a":2}', '2026-01-01T00:00:02.000Z');

  migrate(db);

  t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.same(
    db.prepare('SELECT device, version, settings, changed_by, changed_at FROM settings_versions ORDER BY rowid').all(),
    [
      { device: 2, version: 1, settings: '{"a":1}', changed_by: 1, changed_at: '2026-01-01T00:00:00.000Z' },
      { device: 1, version: 1, settings: '{"b":1}', changed_by: 1, changed_at: '2026-01-01T00:00:01.000Z' },
      { device: 2, version: 2, settings: '{"a":2}', changed_by: 1, changed_at: '2026-01-01T00:00:02.000Z' },
    ],
    'every version kept, in the order they were made',
  );
  t.throws(() => version.run(2, 2, '{"a":3}', 'later'), /UNIQUE constraint failed/, 'a version number is still unique per device');
  t.throws(() => version.run(9, 1, '{}', 'later'), /FOREIGN KEY constraint failed/, 'and still belongs to a device');
  version.run(1, 2, '{"b":2}', 'later');
  t.equal(db.prepare('SELECT count(*) AS n FROM settings_versions').pluck().get(), 4, 'new versions append');
});

t.test('a database newer than this trackconf is refused', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
  t.throws(() => migrate(db), /newer than this trackconf/);
});

t.test('migration 3: devices that existed get a creation date, trackers no group, no phone', async (t) => {
  const db = databaseAtSchema(t, 2);
  seedUserAndModel(db);
  db.exec(`INSERT INTO devices (id, device_id, model, secret_digest) VALUES (1, 'dev-1', 'telfm', x'00');
           INSERT INTO trackers (id, owner_id, label, device) VALUES (10, 1, 'Truck', 1);`);

  migrate(db);

  const device = db.prepare('SELECT phone, created_at FROM devices WHERE id = 1').get() as { phone: unknown; created_at: string };
  t.equal(device.phone, null, 'no phone');
  t.match(device.created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, 'yyyy-MM-dd HH:mm:ss');
  t.not(device.created_at, '1970-01-01 00:00:00', 'the time of the migration, not the column default');
  t.equal(db.prepare('SELECT group_id FROM trackers WHERE id = 10').pluck().get(), null, 'no group');
  db.exec("INSERT INTO groups (id, owner_id, title, color) VALUES (7, 1, 'North depot', '1E96DC')");
  db.exec('UPDATE trackers SET group_id = 7 WHERE id = 10');
  t.throws(() => db.exec('UPDATE trackers SET group_id = 8 WHERE id = 10'), /FOREIGN KEY constraint failed/, 'group_id names a group');
});
