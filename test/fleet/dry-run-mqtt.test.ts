/**
 * A dry run publishes nothing (docs/api.md#dry-runs): the tracker, subscribed before, receives the
 * real update's config as its first message; revert and bulk_update publish like update.
 */
import t from 'tap';
import { ALICE, ARRAYS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { expectOk } from '../helpers/http.js';
import { collect, connect, drained, trackerOptions, until } from '../helpers/mqtt.js';
import { fleetServer, P } from './helpers.js';

const topic = `trackers/${TELFM.deviceId}/config/tracking`;

t.test('dry runs of update and bulk_update publish nothing; the real calls do', async (t) => {
  const { call, mqttUrl, server } = await fleetServer(t);
  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }), 'version 1');
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1, 5000, 'the retained version 1');
  t.equal(received[0]!.payload.version, 1);

  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 200 }, dry_run: true }), 'update dry run');
  expectOk(t, await call(P.bulk, { tracker_ids: [TELFM.trackerId], tracking_settings: { tracking_interval: 201 }, dry_run: true }), 'bulk dry run');
  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 90 } }), 'the real update');
  await until(() => received.length >= 2, 5000, 'the real config');
  t.same(
    received[1]!.payload,
    { version: 2, profile: 'telfm', settings: { ...VALID_TELFM, tracking_interval: 90 }, changed_at: received[1]!.payload.changed_at },
    'the first message after the dry runs is the real update',
  );

  expectOk(t, await call(P.bulk, { model: 'telfm', tracking_settings: { tracking_interval: 91 } }), 'bulk_update');
  await until(() => received.length >= 3, 5000, 'the bulk config');
  t.equal(received[2]!.payload.version, 3);
  t.equal(received[2]!.payload.settings.tracking_interval, 91);
  expectOk(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 1 }), 'revert');
  await until(() => received.length >= 4, 5000, 'the reverted config');
  t.same(received[3]!.payload.settings, VALID_TELFM);
  t.equal(received[3]!.payload.version, 4);
  await drained(server.broker.aedes, topic, received);
  t.equal(received.length, 4, 'nothing else');
});

t.test('a tracker that was never configured gets nothing from a dry run', async (t) => {
  const { call, mqttUrl } = await fleetServer(t);
  const tracker = await connect(t, mqttUrl, trackerOptions(ARRAYS));
  const received = collect(tracker);
  await tracker.subscribeAsync(`trackers/${ARRAYS.deviceId}/config/tracking`, { qos: 1 });
  expectOk(
    t,
    await call(P.update, { tracker_id: ARRAYS.trackerId, tracking_settings: { tracking_interval: 60, sleep_mode: 'enabled' }, dry_run: true }, ALICE.apiKey),
  );
  expectOk(t, await call(P.update, { tracker_id: ARRAYS.trackerId, tracking_settings: { tracking_interval: 70, sleep_mode: 'enabled' } }));
  await until(() => received.length >= 1, 5000, 'the real config');
  t.equal(received[0]!.payload.version, 1);
  t.equal(received[0]!.payload.settings.tracking_interval, 70, 'the first message is the real update');
});
