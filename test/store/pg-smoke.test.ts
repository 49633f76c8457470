import t from 'tap';
import { openPgStore } from '../../src/store/pg/open.js';
import { startPostgres } from '../helpers/postgres.js';

t.test('smoke', async (t) => {
  const pg = await startPostgres(t);
  const store = await openPgStore(pg.url);
  t.teardown(() => store.close());
  store.transaction(() => store.trackers.upsertModel('telfm', 'telfm', 'config'));
  const uid = store.transaction(() => store.users.upsert('Alice', 'x', null, []));
  t.equal(store.users.findByLogin('alice')?.id, uid);
  const dev = store.transaction(() => store.trackers.upsertDevice('d1', 'telfm', false, Buffer.from('s'), '123'));
  const tid = store.transaction(() => store.trackers.upsertTrackerRow(null, uid, 'one', dev, null));
  t.equal(tid, 1);
  t.same(store.trackers.findTracker(tid)?.label, 'one');
  store.transaction(() => store.settings.appendVersion(dev, 1, '{"a":1}', uid, '2026-01-01T00:00:00Z'));
  t.equal(store.settings.sync(dev).version, 1);
  t.same(store.settings.devicesByState(), [{ state: 'pending', count: 1 }]);
});
