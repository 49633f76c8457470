/**
 * Wildcard SUBSCRIBEs of observers (docs/mqtt.md#subscription-limits): the retained lookup of a
 * SUBSCRIBE reads the configs of the devices the caller may see, never the whole fleet, and the
 * number of filters per SUBSCRIBE, of subscriptions per client and the length of a filter are capped
 * (SUBACK 128 beyond). Deterministic: configs read are counted on the real DeviceService.
 *
 * Fleet size: TRACKCONF_HOSTILE_FLEET (default 2,000 other devices; the review's figure was 50,000).
 */
import t from 'tap';
import { ALICE, CAROL, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { addConfiguredDevices } from '../helpers/big-fleet.js';
import { rawClient } from '../helpers/raw-observer.js';
import { freePort, login, post, startTestServer } from '../helpers/server.js';
import { until } from '../helpers/mqtt.js';
import type { DeviceService } from '../../src/settings/device-service.js';
import { HOSTILE_WILDCARDS as WILDCARDS } from '../../bench/lib/wildcards.js';

const FLEET = Number(process.env.TRACKCONF_HOSTILE_FLEET ?? 2_000);
/** Counts every config the device service reads from SQLite (and parses). */
function countConfigReads(devices: DeviceService): { reads: number } {
  const counter = { reads: 0 };
  const latest = devices.latestConfig.bind(devices);
  devices.latestConfig = (deviceId) => {
    counter.reads++;
    return latest(deviceId);
  };
  return counter;
}

t.test(`a one-tracker sub-user's wildcard SUBSCRIBE reads its device's config only (fleet of ${FLEET})`, async (t) => {
  const ts = await startTestServer(t);
  const hash = await login(ts.url, ALICE);
  const update = await post(ts.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  t.equal(update.body.success, true, "carol's tracker has a config");
  addConfiguredDevices(ts.server, ALICE.login, FLEET);
  const counter = countConfigReads(ts.server.devices);

  const carol = await rawClient(t, ts.server.ports.mqtt!, { clientId: 'carol-dash', username: CAROL.login, password: CAROL.password });
  const granted = await carol.subscribe(WILDCARDS);
  t.same(
    granted,
    WILDCARDS.map(() => 1),
    `${WILDCARDS.length} wildcard filters granted`,
  );
  await until(() => carol.packets.some((p) => p.cmd === 'publish'), 10_000, 'the retained config');
  // Whatever else the SUBSCRIBE sends comes before a later message of her device: wait for that marker.
  const marker = `trackers/${TELFM.deviceId}/config/tracking/ack`;
  await new Promise<void>((resolve, reject) =>
    ts.server.broker.aedes.publish({ cmd: 'publish', topic: marker, payload: Buffer.from('{}'), qos: 1, retain: false, dup: false }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  await until(() => carol.packets.some((p) => p.cmd === 'publish' && (p as { topic: string }).topic === marker), 10_000, 'the marker');
  const topics = carol.packets.filter((p) => p.cmd === 'publish' && (p as { topic: string }).topic !== marker).map((p) => (p as { topic: string }).topic);
  t.same(topics, [`trackers/${TELFM.deviceId}/config/tracking`], 'she gets the config of her one device, once');
  t.ok(counter.reads <= WILDCARDS.length, `configs read for the SUBSCRIBE: ${counter.reads} (not ${WILDCARDS.length} × ${FLEET + 1})`);
});

t.test('filters per SUBSCRIBE, subscriptions per client and filter length are capped (SUBACK 128)', async (t) => {
  const limits = { maxFiltersPerSubscribe: 4, maxSubscriptionsPerClient: 6, maxTopicLength: 64 };
  const ts = await startTestServer(t, { config: { mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), ...limits } } });
  const port = ts.server.ports.mqtt!;
  const alice = await rawClient(t, port, { clientId: 'alice-dash', username: ALICE.login, password: ALICE.apiKey });
  const filters = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `trackers/+/config/f${from + i}`);

  t.same(await alice.subscribe(filters(6)), [1, 1, 1, 1, 128, 128], 'a SUBSCRIBE of 6 filters: the first 4 granted');
  t.same(await alice.subscribe([`trackers/${'x'.repeat(64)}`]), [128], 'a filter longer than maxTopicLength: 128');
  t.same(await alice.subscribe(filters(3, 10)), [1, 1, 128], 'the client holds 6 subscriptions at most');
  t.same(await alice.subscribe(filters(1)), [1], 'subscribing again to a filter it holds is not a new subscription');
  alice.send({ cmd: 'unsubscribe', messageId: 77, unsubscriptions: [filters(1)[0]!] });
  await until(() => alice.packets.some((p) => p.cmd === 'unsuback'));
  t.same(await alice.subscribe(filters(1, 20)), [1], 'after an UNSUBSCRIBE there is room for one more');
  t.notOk(alice.closed, 'refusals keep the connection open');

  // A persistent session stores the granted filters only, not the refused ones of the same packet.
  const persistent = await rawClient(t, port, { clientId: 'alice-keep', username: ALICE.login, password: ALICE.apiKey, clean: false });
  const long = `trackers/+/config/${'y'.repeat(200)}`;
  t.same(await persistent.subscribe(['trackers/#', long]), [1, 128], 'one granted, one too long');
  const { persistence } = ts.server.broker.aedes as unknown as { persistence: { subscriptionsByClient(c: { id: string }): Promise<Array<{ topic: string }>> } };
  const stored = await persistence.subscriptionsByClient({ id: 'alice-keep' });
  t.same(
    stored.map((s) => s.topic),
    ['trackers/#'],
    'the session stores the granted filter only',
  );
});
