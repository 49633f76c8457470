import t, { type Test } from 'tap';
import { ALICE, ARRAYS, BOB, CAROL, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { closed, collect, granted, connect, drained, trackerOptions, until } from '../helpers/mqtt.js';
import { login, post, startTestServer } from '../helpers/server.js';

const configOf = (deviceId: string) => `trackers/${deviceId}/config/tracking`;

async function withTwoConfigs(t: Test) {
  const ts = await startTestServer(t);
  const hash = await login(ts.url, ALICE);
  const ok1 = await post(ts.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  const ok2 = await post(ts.url, 'tracker/settings/tracking/update', {
    hash,
    tracker_id: NUMBERS.trackerId,
    tracking_settings: { tracking_interval: 1, tracking_distance: 1.5, tracking_angle: 20, on_stop_tracking_interval: 120, sleep_mode: 'disabled' },
  });
  t.equal(ok1.body.success && ok2.body.success, true, 'two devices configured');
  return ts;
}

t.test('trackers subscribe only under their own config prefix', async (t) => {
  const { mqttUrl, server } = await withTwoConfigs(t);
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  const grants = (topic: string) => granted(tracker, topic);
  t.equal(await grants(configOf(NUMBERS.deviceId)), 128, "another tracker's config: 128");
  t.equal(await grants('trackers/+/config/#'), 128, 'wildcard over devices: 128');
  t.equal(await grants('#'), 128, '#: 128');
  t.equal(await grants('$SYS/#'), 128, '$SYS: 128');
  t.equal(await grants(`trackers/${TELFM.deviceId}/status`), 128, 'outside config/: 128');
  t.equal(await grants(`trackers/${TELFM.deviceId}/config/#`), 1, 'own config/# granted');
  await until(() => received.length === 1);
  // a marker on every topic it was refused: none may arrive, its own (after them) must
  for (const device of [NUMBERS.deviceId, ARRAYS.deviceId]) {
    await new Promise<void>((resolve) =>
      server.broker.aedes.publish({ cmd: 'publish', topic: configOf(device), payload: Buffer.from('{"leak":1}'), qos: 1, retain: false, dup: false }, () =>
        resolve(),
      ),
    );
  }
  await drained(server.broker.aedes, `trackers/${TELFM.deviceId}/config/marker`, received);
  t.same(
    received.map((m) => m.topic),
    [configOf(TELFM.deviceId)],
    'only its own config ever arrives',
  );
});

t.test('a tracker publishing outside its ack/reported topics is disconnected', async (t) => {
  const { mqttUrl } = await withTwoConfigs(t);
  for (const topic of [`trackers/${NUMBERS.deviceId}/config/tracking/ack`, configOf(TELFM.deviceId), `trackers/${TELFM.deviceId}/anything`, '$SYS/x']) {
    const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
    const done = closed(tracker);
    tracker.publish(topic, '{}', { qos: 0 });
    await done;
    t.pass(`publishing to ${topic} closed the connection`);
  }
  const other = await connect(t, mqttUrl, trackerOptions(NUMBERS));
  const received = collect(other);
  await other.subscribeAsync(configOf(NUMBERS.deviceId), { qos: 1 });
  await until(() => received.length === 1);
  t.equal(received[0]!.payload.settings.tracking_distance, 1.5, 'the other tracker still gets its own config');
});

t.test('observers see the devices of the trackers they may see, through wildcards too', async (t) => {
  const { mqttUrl, url, server } = await withTwoConfigs(t);
  const watch = async (user: { login: string; password: string }, id: string) => {
    const client = await connect(t, mqttUrl, { username: user.login, password: user.password, clientId: id });
    const received = collect(client);
    return { client, received, qos: await granted(client, 'trackers/+/config/#') };
  };
  const alice = await watch(ALICE, 'alice-dash');
  const bob = await watch(BOB, 'bob-dash');
  const carol = await watch(CAROL, 'carol-dash');
  t.equal(alice.qos, 1);
  await until(() => alice.received.length === 2 && bob.received.length === 1 && carol.received.length === 1);
  t.same(alice.received.map((m) => m.topic).sort(), [configOf(TELFM.deviceId), configOf(NUMBERS.deviceId)].sort(), 'alice: both of her devices');
  t.same(
    bob.received.map((m) => m.topic),
    [configOf(TELFM.deviceId)],
    'bob: the device behind his clone only',
  );
  t.same(
    carol.received.map((m) => m.topic),
    [configOf(TELFM.deviceId)],
    'carol: her bound tracker only',
  );

  const hash = await login(url, ALICE);
  await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: NUMBERS.trackerId, tracking_settings: { tracking_interval: 90 } });
  t.pass('updated');
  await until(() => alice.received.length === 3);
  await drained(server.broker.aedes, configOf(TELFM.deviceId), alice.received, bob.received, carol.received);
  t.equal(bob.received.length, 1, 'live messages of other devices do not leak to bob');
  t.equal(carol.received.length, 1, 'nor to carol');

  t.equal(await granted(alice.client, '$SYS/#', 0), 128, '$SYS closed to observers');
  const done = closed(bob.client);
  bob.client.publish(configOf(TELFM.deviceId), '{"version":99}', { qos: 0 });
  await done;
  t.pass('an observer publishing is disconnected');
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const got = collect(tracker);
  await tracker.subscribeAsync(configOf(TELFM.deviceId), { qos: 1 });
  await until(() => got.length === 1);
  t.equal(got[0]!.payload.version, 1, 'the observer publish changed nothing');
});

t.test('a device blocked while connected is disconnected', async (t) => {
  const { mqttUrl, server } = await startTestServer(t);
  const tracker = await connect(t, mqttUrl, trackerOptions(ARRAYS));
  const done = closed(tracker, 8000);
  server.store.db.prepare('UPDATE devices SET blocked = 1 WHERE device_id = ?').run(ARRAYS.deviceId);
  await done;
  t.pass('disconnected after the block');
});
