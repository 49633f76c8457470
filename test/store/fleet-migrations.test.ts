import t from 'tap';
import { migrate } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { databaseAtSchema, seedUserAndModel } from '../helpers/old-database.js';

t.test('versions made before migration 3 get a source and the outcome of the version they replaced', async (t) => {
  const db = databaseAtSchema(t, 2);
  seedUserAndModel(db);
  db.exec(`INSERT INTO devices (id, device_id, model, secret_digest) VALUES (1, 'dev-1', 'telfm', x'00');
           INSERT INTO trackers (id, owner_id, label, device) VALUES (10, 1, 't', 1);`);
  const version = db.prepare("INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (1, ?, '{}', 1, 'now')");
  for (const v of [1, 2, 3]) version.run(v);
  const ack = db.prepare("INSERT INTO device_acks (device, version, status, stale, received_at) VALUES (1, ?, ?, ?, 'now')");
  ack.run(1, 'rejected', 0);
  ack.run(1, 'applied', 0); // the last answer while version 1 was current
  ack.run(2, 'applied', 1); // stale: version 2 had been replaced

  migrate(db);

  t.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
  t.same(db.prepare('SELECT version, source, prior_state FROM settings_versions ORDER BY version').all(), [
    { version: 1, source: 'update', prior_state: null },
    { version: 2, source: 'update', prior_state: 'applied' },
    { version: 3, source: 'update', prior_state: 'superseded' },
  ]);
  t.throws(
    () => db.prepare("INSERT INTO settings_versions (device, version, settings, changed_at, source) VALUES (1, 4, '{}', 'now', 'other')").run(),
    /CHECK constraint/,
  );
  t.same(db.prepare('SELECT group_id FROM trackers').all(), [{ group_id: null }], 'trackers have no group');
});
