import t, { type Test } from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { collect, connect, drained, eventually, trackerOptions, until } from '../helpers/mqtt.js';
import { get, login, post, startTestServer } from '../helpers/server.js';

const topic = `trackers/${TELFM.deviceId}/config/tracking`;

async function setup(t: Test) {
  const ts = await startTestServer(t);
  const hash = await login(ts.url, ALICE);
  const update = (settings: Record<string, unknown>) =>
    post(ts.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: settings });
  const read = async () => (await get(ts.url, 'tracker/settings/tracking/read', { hash, tracker_id: String(TELFM.trackerId) })).body;
  return { ...ts, hash, update, read };
}

t.test('retained delivery on subscribe, then live delivery', async (t) => {
  const { mqttUrl, update } = await setup(t);
  t.equal((await update(VALID_TELFM)).body.success, true);
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1, 5000, 'retained config');
  t.equal(received[0]!.retain, true, 'arrives as a retained message');
  t.equal(received[0]!.qos, 1);
  t.same(received[0]!.payload, { version: 1, profile: 'telfm', settings: VALID_TELFM, changed_at: received[0]!.payload.changed_at });
  t.match(received[0]!.payload.changed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  t.equal((await update({ tracking_interval: 90 })).body.success, true);
  await until(() => received.length === 2, 5000, 'live config');
  t.equal(received[1]!.payload.version, 2);
  t.same(received[1]!.payload.settings, { ...VALID_TELFM, tracking_interval: 90 }, 'always the full settings, never a delta');
});

t.test('an offline tracker gets exactly the latest version', async (t) => {
  const { mqttUrl, update, server } = await setup(t);
  for (const interval of [40, 50, 60]) t.equal((await update({ ...VALID_TELFM, tracking_interval: interval })).body.success, true);
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length >= 1);
  await drained(server.broker.aedes, topic, received);
  t.equal(received.length, 1, 'one message, no replay of intermediate versions');
  t.equal(received[0]!.payload.version, 3);
  t.equal(received[0]!.payload.settings.tracking_interval, 60);
});

t.test('a persistent session that reconnects without subscribing gets only the latest version', async (t) => {
  const { mqttUrl, update, server } = await setup(t);
  const first = await connect(t, mqttUrl, trackerOptions(TELFM, { clean: false }));
  await first.subscribeAsync(topic, { qos: 1 });
  await first.endAsync();
  for (const interval of [40, 50]) t.equal((await update({ ...VALID_TELFM, tracking_interval: interval })).body.success, true);
  const again = await connect(t, mqttUrl, trackerOptions(TELFM, { clean: false }));
  const received = collect(again);
  await until(() => received.length >= 1, 5000, 'config after session resume');
  await drained(server.broker.aedes, topic, received);
  t.same(
    received.map((m) => m.payload.version),
    [2],
    'only version 2',
  );
});

t.test('sync state: pending → delivered → applied, rejected, stale acks', async (t) => {
  const { mqttUrl, update, read, server } = await setup(t);
  t.same((await read()).sync, { version: 0, state: 'none' });
  const accepted = await update(VALID_TELFM);
  t.equal(accepted.body.sync.state, 'pending', 'stored and sent, nobody listening yet');
  t.equal((await read()).sync.state, 'pending');

  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1);
  let sync: Record<string, any> = {};
  await eventually(async () => (sync = (await read()).sync).state === 'delivered', 5000, 'delivered').catch(() => undefined);
  t.equal(sync.state, 'delivered', 'the PUBACK of the retained message marks it delivered');
  t.match(sync.delivered_at, /Z$/);

  await tracker.publishAsync(`${topic}/ack`, JSON.stringify({ version: 1, status: 'applied' }), { qos: 1 });
  await until(() => server.devices.counters.acksApplied === 1);
  sync = (await read()).sync;
  t.equal(sync.state, 'applied');
  t.match(sync.applied_at, /Z$/);

  t.equal((await update({ tracking_interval: 120 })).body.success, true);
  await until(() => received.length === 2);
  await tracker.publishAsync(`${topic}/ack`, JSON.stringify({ version: 2, status: 'rejected', reason: 'interval unsupported' }), { qos: 1 });
  await until(() => server.devices.counters.acksRejected === 1);
  sync = (await read()).sync;
  t.equal(sync.version, 2);
  t.equal(sync.state, 'rejected');
  t.equal(sync.reason, 'interval unsupported');

  t.equal((await update({ tracking_interval: 150 })).body.success, true);
  await until(() => received.length === 3);
  await tracker.publishAsync(`${topic}/ack`, JSON.stringify({ version: 2, status: 'applied' }), { qos: 1 });
  await until(() => server.devices.counters.acksStale === 1);
  sync = (await read()).sync;
  t.equal(sync.version, 3);
  t.not(sync.state, 'applied', 'a stale ack does not change the current state');
  const acks = server.store.db.prepare('SELECT version, status, stale FROM device_acks ORDER BY id').all();
  t.same(
    acks,
    [
      { version: 1, status: 'applied', stale: 0 },
      { version: 2, status: 'rejected', stale: 0 },
      { version: 2, status: 'applied', stale: 1 },
    ],
    'every answer is recorded, the stale one marked',
  );
});

t.test('reported settings show in sync and seed the first update', async (t) => {
  const { mqttUrl, update, read, server } = await setup(t);
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const reported = { ...VALID_TELFM, tracking_interval: 45, firmware_only_field: 7 };
  await tracker.publishAsync(`${topic}/reported`, JSON.stringify({ settings: reported }), { qos: 1 });
  await until(() => server.devices.counters.reported === 1);
  const before = await read();
  t.same(before.sync, { version: 0, state: 'none', reported }, 'reported shown as the tracker sent it');
  t.same(before.value, { ...VALID_TELFM, tracking_interval: 45 }, 'value: reported less the fields the profile rejects');
  const merged = await update({ tracking_angle: 20 });
  t.equal(merged.body.success, true, 'a partial update merges over the reported settings');
  t.same((await read()).value, { ...VALID_TELFM, tracking_interval: 45, tracking_angle: 20 });
});

t.test('malformed tracker payloads are dropped and counted, never a crash', async (t) => {
  const { mqttUrl, update, read, server } = await setup(t);
  t.equal((await update(VALID_TELFM)).body.success, true);
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const bad = [
    'not json',
    '{"version":"1","status":"applied"}',
    '{"version":1,"status":"done"}',
    '{"version":99,"status":"applied"}',
    '[]',
    '{"version":1,"status":"applied","extra":1}',
  ];
  for (const payload of bad) await tracker.publishAsync(`${topic}/ack`, payload, { qos: 1 });
  await tracker.publishAsync(`${topic}/reported`, '{"settings":"nope"}', { qos: 1 });
  await until(() => server.devices.counters.malformed === bad.length + 1, 5000, 'malformed counted');
  t.ok(tracker.connected, 'the tracker stays connected');
  const after = await read();
  t.equal(after.sync.version, 1);
  t.not(after.sync.state, 'applied', 'nothing applied');
  t.same(after.value, VALID_TELFM, 'settings unchanged');
});
