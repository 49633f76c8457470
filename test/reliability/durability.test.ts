import { fsync as realFsync } from 'node:fs';
import t, { type Test } from 'tap';
import type { Fsync } from '../../src/store/wal-sync.js';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { collect, connect, drained, trackerOptions, until } from '../helpers/mqtt.js';
import { login, post, startTestServer, type ApiAnswer } from '../helpers/server.js';

/**
 * The service runs SQLite at synchronous=NORMAL and flushes the WAL itself off the event loop
 * (src/store/wal-sync.ts). These tests hold that flush, as a slow disk would, and check that
 * nothing the commit produced leaves the process before it is on disk.
 */
const topic = `trackers/${TELFM.deviceId}/config/tracking`;

async function setup(t: Test) {
  const held: Array<() => void> = [];
  let holding = false;
  const fsync: Fsync = (fd, done) => {
    if (holding) held.push(() => realFsync(fd, done));
    else realFsync(fd, done);
  };
  const ts = await startTestServer(t, { fsync });
  const hash = await login(ts.url, ALICE);
  const hold = () => void (holding = true);
  const release = () => {
    holding = false;
    for (const flush of held.splice(0)) flush();
  };
  const tracker = async () => {
    const client = await connect(t, ts.mqttUrl, trackerOptions(TELFM));
    const received = collect(client);
    return { client, received };
  };
  const update = (settings: Record<string, unknown>) => {
    const answer = { value: undefined as ApiAnswer | undefined };
    const done = post(ts.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: settings }).then(
      (a) => (answer.value = a),
    );
    return { answer, done };
  };
  return { ...ts, hash, hold, release, held, tracker, update };
}

t.test('an update is answered and published only after its commit is on disk', async (t) => {
  const { hold, release, held, tracker, update, server } = await setup(t);
  const { client, received } = await tracker();
  await client.subscribeAsync(topic, { qos: 1 });
  await server.store.durable(); // earlier writes (the login) flushed: the held flush is the update's
  hold();
  const pending = update(VALID_TELFM);
  await until(() => held.length > 0, 5000, 'the WAL flush of the update');
  await drained(server.broker.aedes, topic, received); // a config published before the flush would be ahead of it
  t.equal(pending.answer.value, undefined, 'no HTTP answer while the flush is held');
  t.equal(received.length, 0, 'no config at the tracker while the flush is held');
  release();
  await pending.done;
  t.equal(pending.answer.value?.body.success, true);
  t.equal(pending.answer.value?.body.sync.version, 1);
  await until(() => received.length === 1, 5000, 'the config after the flush');
  t.equal(received[0]!.payload.version, 1);
});

t.test('a tracker subscribing while a commit is not on disk yet gets it only after the flush', async (t) => {
  const { hold, release, held, tracker, update, server } = await setup(t);
  hold();
  const pending = update(VALID_TELFM);
  await until(() => held.length > 0, 5000, 'the WAL flush of the update');
  const { client, received } = await tracker();
  await client.subscribeAsync(topic, { qos: 1 }); // the retained lookup reads version 1 from SQLite
  await drained(server.broker.aedes, topic, received);
  t.equal(received.length, 0, 'the retained config waits for the flush');
  release();
  await pending.done;
  await until(() => received.length >= 1, 5000, 'the retained config');
  t.equal(received[0]!.payload.version, 1);
});

t.test('a failed flush answers 500 without the message, and nothing is published', async (t) => {
  let failing = false;
  const fsync: Fsync = (fd, done) => (failing ? done(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : realFsync(fd, done));
  const ts = await startTestServer(t, { fsync });
  const hash = await login(ts.url, ALICE);
  const client = await connect(t, ts.mqttUrl, trackerOptions(TELFM));
  const received = collect(client);
  await client.subscribeAsync(topic, { qos: 1 });
  await ts.server.store.durable();
  failing = true;
  const answer = await post(ts.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  t.equal(answer.status, 500);
  t.equal(answer.body.success, false);
  t.notMatch(JSON.stringify(answer.body), /EIO|fsync/, 'the cause is logged, not answered');
  await drained(ts.server.broker.aedes, topic, received);
  t.equal(received.length, 0, 'nothing published that may not be on disk');
});
