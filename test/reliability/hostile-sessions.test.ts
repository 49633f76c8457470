/**
 * Persistent (clean session = 0) observer sessions and QoS 2 publishers (docs/mqtt.md#session-limits):
 * nothing is queued for a session that may not see the message, an offline session's queue is
 * bounded, and a client's unreleased QoS 2 publishes are bounded across reconnects too.
 *
 * Sizes: TRACKCONF_HOSTILE_SESSIONS (default 20; the review's 300) persistent observers of
 * `trackers/#` and TRACKCONF_HOSTILE_ACKS (default 200; the review's 2,000) acks of another user's
 * tracker. With TRACKCONF_HOSTILE_RSS=1 the test prints the RSS growth (measure with --expose-gc).
 */
import t from 'tap';
import { BOB, NUMBERS, TELFM } from '../helpers/fleet.js';
import { LiteTracker } from '../helpers/lite-mqtt.js';
import { rawClient } from '../helpers/raw-observer.js';
import { freePort, startTestServer, type TestServer } from '../helpers/server.js';
import { eventually, until } from '../helpers/mqtt.js';

const SESSIONS = Number(process.env.TRACKCONF_HOSTILE_SESSIONS ?? 20);
const ACKS = Number(process.env.TRACKCONF_HOSTILE_ACKS ?? 200);

interface QueueReader {
  outgoingStream(client: { id: string }): AsyncIterable<{ topic: string }>;
}

/** The messages aedes' persistence holds for `clientId` (its public persistence API). */
async function queued(ts: TestServer, clientId: string): Promise<string[]> {
  const topics: string[] = [];
  for await (const packet of (ts.server.broker.aedes as unknown as { persistence: QueueReader }).persistence.outgoingStream({ id: clientId }))
    topics.push(packet.topic);
  return topics;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * `count` acks on `device`'s ack topic at QoS 1, 100 in flight at most; resolves once the broker
 * PUBACKed every one (it has then forwarded, and queued, each of them).
 */
async function publishAcks(tracker: LiteTracker, count: number): Promise<void> {
  const acked = tracker.pubacks;
  for (let i = 0; i < count; i++) {
    tracker.publish(`trackers/${tracker.device.deviceId}/config/tracking/ack`, JSON.stringify({ version: 1, status: 'applied', reason: 'x'.repeat(64) }), 1);
    if (i % 100 === 99) await until(() => tracker.pubacks >= acked + i + 1, 30_000, 'PUBACKs');
  }
  await until(() => tracker.pubacks >= acked + count, 60_000, 'every PUBACK');
}

t.test(`${SESSIONS} offline observer sessions of trackers/# get nothing of another user's ${ACKS} acks`, async (t) => {
  const maxQueuedPerSession = 50;
  const ts = await startTestServer(t, {
    config: { trackerAnswers: { perSecond: 0 }, mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), maxQueuedPerSession } },
  });
  const port = ts.server.ports.mqtt!;
  const ids = Array.from({ length: SESSIONS }, (_, i) => `bob-offline-${i}`);
  for (const clientId of ids) {
    const bob = await rawClient(t, port, { clientId, username: BOB.login, password: BOB.apiKey, clean: false });
    t.same(await bob.subscribe(['trackers/#']), [1], `${clientId} subscribed`);
    await bob.end();
  }
  gc();
  const rssBefore = process.memoryUsage().rss;
  // alice's tracker NUMBERS: bob does not see it
  const other = await LiteTracker.connect(NUMBERS, { port });
  t.teardown(() => other.destroy());
  await publishAcks(other, ACKS);
  await until(
    () => ts.server.devices.counters.malformed + ts.server.devices.counters.acksApplied + ts.server.devices.counters.acksStale >= ACKS,
    60_000,
    'the acks',
  );
  gc();
  const rssGrowth = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  if (process.env.TRACKCONF_HOSTILE_RSS) t.comment(`RSS growth for ${SESSIONS} sessions × ${ACKS} acks: ${rssGrowth.toFixed(1)} MB`);
  let queuedForBob = 0;
  for (const clientId of ids) queuedForBob += (await queued(ts, clientId)).length;
  t.equal(queuedForBob, 0, `nothing of another user's tracker was queued for bob's ${SESSIONS} offline sessions (${queuedForBob} queued)`);

  // TELFM (behind bob's clone): queued, up to the bound
  const visible = await LiteTracker.connect(TELFM, { port });
  t.teardown(() => visible.destroy());
  await publishAcks(visible, maxQueuedPerSession + 30);
  await until(
    () =>
      ts.server.devices.counters.malformed + ts.server.devices.counters.acksApplied + ts.server.devices.counters.acksStale >= ACKS + maxQueuedPerSession + 30,
    60_000,
    'the acks',
  );
  const first = await queued(ts, ids[0]!);
  t.equal(first.length, maxQueuedPerSession, `an offline session holds at most maxQueuedPerSession (${maxQueuedPerSession}) messages`);
  t.ok(
    first.every((topic) => topic === `trackers/${TELFM.deviceId}/config/tracking/ack`),
    'all of them of a device bob sees',
  );

  // the session comes back: it gets what was queued, and the queue empties as it PUBACKs
  const back = await rawClient(t, port, { clientId: ids[0]!, username: BOB.login, password: BOB.apiKey, clean: false });
  await until(() => back.packets.filter((p) => p.cmd === 'publish').length >= maxQueuedPerSession, 10_000, 'the queued messages');
  await eventually(async () => (await queued(ts, ids[0]!)).length === 0, 10_000, 'the queue to empty once delivered and acknowledged');
  t.pass('the queue is empty once delivered and acknowledged');
  await publishAcks(visible, 1);
  await until(() => back.packets.filter((p) => p.cmd === 'publish').length === maxQueuedPerSession + 1, 10_000, 'a live message');
  t.pass('and live messages flow again');
});

t.test('unreleased QoS 2 publishes of a client are bounded, across reconnects of its session', async (t) => {
  const maxInflightQos2 = 4;
  const ts = await startTestServer(t, { config: { mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), maxInflightQos2 } } });
  const port = ts.server.ports.mqtt!;
  const reported = `trackers/${TELFM.deviceId}/config/tracking/reported`;
  const payload = Buffer.alloc(60 * 1024, 0x20);
  let messageId = 1;
  const flood = async (count: number) => {
    const tracker = await rawClient(t, port, { clientId: TELFM.deviceId, username: TELFM.deviceId, password: TELFM.secret, clean: false });
    for (let i = 0; i < count && !tracker.closed; i++) {
      tracker.send({ cmd: 'publish', topic: reported, payload, qos: 2, retain: false, dup: false, messageId: messageId++ });
      await until(() => tracker.packets.filter((p) => p.cmd === 'pubrec').length > i || tracker.closed, 5_000, 'PUBREC');
    }
    return tracker;
  };
  const first = await flood(maxInflightQos2);
  t.equal(first.packets.filter((p) => p.cmd === 'pubrec').length, maxInflightQos2, `${maxInflightQos2} QoS 2 publishes held without PUBREL`);
  t.notOk(first.closed, 'up to the limit the connection stays');
  await first.end();
  const second = await flood(1);
  await until(() => second.closed, 5_000, 'the connection closed');
  t.equal(second.packets.filter((p) => p.cmd === 'pubrec').length, 0, 'one more after a reconnect of the session is refused: the connection is closed');
  const again = await flood(maxInflightQos2 + 2);
  await until(() => again.closed, 5_000, 'the connection closed');
  t.pass('and stays refused while the unreleased ones are held');
});
