import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { get, login, post, startTestServer } from '../helpers/server.js';

t.test('login, update and read over a real socket', async (t) => {
  const { url } = await startTestServer(t);
  const hash = await login(url, ALICE);
  t.match(hash, /^[0-9a-f]{32}$/);
  const updated = await post(url, 'tracker/settings/tracking/update', {
    hash,
    tracker_id: String(TELFM.trackerId),
    tracking_settings: VALID_TELFM,
  });
  t.equal(updated.status, 200, JSON.stringify(updated.body));
  t.same(updated.body.sync, { version: 1, state: 'pending', changed_at: updated.body.sync.changed_at });
  const read = await get(url, 'tracker/settings/tracking/read', { hash, tracker_id: String(TELFM.trackerId) });
  t.same(read.body.value, VALID_TELFM);
  t.equal(read.body.sync.version, 1);
});
