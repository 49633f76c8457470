import t from 'tap';
import { ALICE, ARRAYS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { collect, connect, drained, trackerOptions, until } from '../helpers/mqtt.js';
import { login, post, startTestServer } from '../helpers/server.js';

t.test('after a restart every tracker gets its latest accepted settings from SQLite', async (t) => {
  const first = await startTestServer(t);
  const hash = await login(first.url, ALICE);
  const update = (settings: Record<string, unknown>) =>
    post(first.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: settings });
  t.equal((await update(VALID_TELFM)).body.success, true);
  t.equal((await update({ tracking_interval: 200 })).body.success, true);
  await first.server.close();

  const second = await startTestServer(t, { dbFile: first.dbFile, fleet: null });
  const tracker = await connect(t, second.mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(`trackers/${TELFM.deviceId}/config/#`, { qos: 1 });
  await until(() => received.length === 1);
  await drained(second.server.broker.aedes, `trackers/${TELFM.deviceId}/config/marker`, received);
  t.equal(received.length, 1);
  t.same(received[0]!.payload.settings, { ...VALID_TELFM, tracking_interval: 200 });
  t.equal(received[0]!.payload.version, 2);

  const unconfigured = await connect(t, second.mqttUrl, trackerOptions(ARRAYS));
  const none = collect(unconfigured);
  await unconfigured.subscribeAsync(`trackers/${ARRAYS.deviceId}/config/tracking`, { qos: 1 });
  await drained(second.server.broker.aedes, `trackers/${ARRAYS.deviceId}/config/tracking`, none);
  t.equal(none.length, 0, 'a device without any accepted version gets no config message');
});
