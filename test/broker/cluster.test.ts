import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { runCli } from '../helpers/cli.js';
import { ALICE, ARRAYS, fleetFile, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { closed, collect, connect, eventually, trackerOptions, until } from '../helpers/mqtt.js';
import { startRedis } from '../helpers/redis.js';
import { get, login, post, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { BACKENDS, twoNodesOn, type Backend } from '../helpers/two-nodes.js';

const topic = `trackers/${TELFM.deviceId}/config/tracking`;

/** Two nodes on one database (a SQLite file or a PostgreSQL database) and one Redis (docs/mqtt.md#several-nodes). */
async function twoNodes(t: Test, backend: Backend) {
  const redis = await startRedis(t);
  const { a, b, cliEnv, dbFile } = await twoNodesOn(t, backend, { redisUrl: redis.url });
  const hash = await login(a.url, ALICE);
  const update = async (node: TestServer, settings: Record<string, unknown>) => {
    const answer = await post(node.url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: settings });
    if (answer.body.success !== true) throw new Error(`update failed: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const read = async (node: TestServer) => (await get(node.url, 'tracker/settings/tracking/read', { hash, tracker_id: String(TELFM.trackerId) })).body;
  return { redis, a, b, update, read, cliEnv, dbFile };
}

t.test('without redisUrl the broker is unchanged: in-memory persistence, every patch', async (t) => {
  const { server } = await startTestServer(t);
  t.same(server.broker.degraded, []);
  t.ok(server.broker.lean, 'the lean CONNECT is installed');
  const persistence = (server.broker.aedes as unknown as { persistence: { asyncPersistence?: object } }).persistence;
  t.equal(persistence.asyncPersistence?.constructor.name, 'MemoryPersistence');
});

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('with redisUrl: Redis engines, the lean CONNECT off, config topics never stored in Redis', async (t) => {
      const { redis, a, b, update } = await twoNodes(t, backend);
      for (const node of [a, b]) {
        t.same([...node.server.broker.degraded].sort(), ['lean-connect', 'lean-parser']);
        t.equal(node.server.broker.lean, undefined);
      }
      const persistence = (a.server.broker.aedes as unknown as { persistence: { asyncPersistence?: object } }).persistence;
      t.not(persistence.asyncPersistence?.constructor.name, 'MemoryPersistence');

      const tracker = await connect(t, b.mqttUrl, trackerOptions(TELFM, { clean: false }));
      await tracker.subscribeAsync(topic, { qos: 1 });
      await tracker.publishAsync(`${topic}/reported`, JSON.stringify({ settings: { tracking_interval: 60 } }), { qos: 1, retain: true });
      await tracker.endAsync();
      await update(a, VALID_TELFM);
      await update(a, { tracking_interval: 90 });

      const db = new Redis(redis.url);
      t.teardown(() => db.disconnect());
      const keys = await db.keys('*');
      t.ok(
        keys.some((key) => key.includes(TELFM.deviceId)),
        'the persistent session is stored in Redis',
      );
      const retained = (await db.type('retained')) === 'hash' ? await db.hkeys('retained') : [];
      t.notOk(retained.includes(topic), 'no retained copy of the config');
      const values = await Promise.all(
        keys.filter((key) => key !== 'retained').map(async (key) => ((await db.type(key)) === 'string' ? (await db.getBuffer(key))?.toString('latin1') : '')),
      );
      t.notOk(
        values.some((value) => value?.includes('"tracking_interval":90')),
        'no queued copy of the config',
      );
    });

    t.test('an update through node A reaches the tracker on node B; its PUBACK and ack move the sync state', async (t) => {
      const { a, b, update, read } = await twoNodes(t, backend);
      await update(a, VALID_TELFM);
      const tracker = await connect(t, b.mqttUrl, trackerOptions(TELFM));
      const received = collect(tracker);
      await tracker.subscribeAsync(topic, { qos: 1 });
      await until(() => received.length === 1, 5000, 'retained config on B');
      t.equal(received[0]!.payload.version, 1);

      await update(a, { tracking_interval: 90 });
      await until(() => received.some((m) => m.payload.version === 2), 5000, 'version 2 on B');
      t.equal(received.at(-1)!.payload.settings.tracking_interval, 90);
      await eventually(async () => (await read(a)).sync.state === 'delivered', 5000, 'delivered (PUBACK to B) seen on A');
      t.equal((await read(a)).sync.version, 2);

      await tracker.publishAsync(`${topic}/ack`, JSON.stringify({ version: 2, status: 'applied' }), { qos: 1 });
      await eventually(async () => (await read(a)).sync.state === 'applied', 5000, 'applied (ack to B) seen on A');
      t.equal((await read(b)).sync.state, 'applied', 'the same on B');
    });

    t.test('a tracker that reconnects to the other node gets its latest version, never a stale cached one', async (t) => {
      const { a, b, update } = await twoNodes(t, backend);
      await update(a, VALID_TELFM);
      // node B reads version 1 into its config cache
      const first = await connect(t, b.mqttUrl, trackerOptions(TELFM));
      const seen = collect(first);
      await first.subscribeAsync(topic, { qos: 1 });
      await until(() => seen.length === 1, 5000, 'version 1 on B');
      await first.endAsync();

      await update(a, { tracking_interval: 90 });
      const again = await connect(t, b.mqttUrl, trackerOptions(TELFM));
      const received = collect(again);
      await again.subscribeAsync(topic, { qos: 1 });
      await until(() => received.length >= 1, 5000, 'retained config on B');
      t.equal(received[0]!.payload.version, 2, 'the version written through A');
      t.equal(received[0]!.retain, true);
    });

    t.test('a second connection with the same client id on node B closes the first one on node A', async (t) => {
      const { a, b } = await twoNodes(t, backend);
      const first = await connect(t, a.mqttUrl, trackerOptions(TELFM));
      const gone = closed(first, 5000);
      const second = await connect(t, b.mqttUrl, trackerOptions(TELFM));
      await gone;
      t.ok(second.connected, 'the new connection stays');
      await eventually(async () => a.server.broker.connectedTrackers() === 0, 5000, 'node A forgot the tracker');
      t.equal(b.server.broker.connectedTrackers(), 1);
    });

    t.test('a persistent session resumed on another node without SUBSCRIBE gets the latest version', async (t) => {
      const { a, b, update, read } = await twoNodes(t, backend);
      const first = await connect(t, a.mqttUrl, trackerOptions(TELFM, { clean: false }));
      await first.subscribeAsync(topic, { qos: 1 });
      await first.endAsync();
      await update(a, VALID_TELFM);
      await update(b, { tracking_interval: 90 });

      const again = await connect(t, b.mqttUrl, trackerOptions(TELFM, { clean: false }));
      const received = collect(again);
      await until(() => received.length >= 1, 5000, 'config after the session resumed on B');
      t.same(
        received.map((m) => m.payload.version),
        [2],
        'only the latest version',
      );
      await eventually(async () => (await read(a)).sync.state === 'delivered', 5000, 'delivered');
    });

    t.test("a blocked device's tracker is disconnected on every node within 1 s", async (t) => {
      const { a, b, cliEnv, dbFile } = await twoNodes(t, backend);
      const onA = await connect(t, a.mqttUrl, trackerOptions(TELFM));
      const onB = await connect(t, b.mqttUrl, trackerOptions(ARRAYS));
      const gone = [closed(onA, 60_000), closed(onB, 60_000)];
      const file = join(tempDir(t), 'fleet.json');
      const fleet = fleetFile();
      const blocked = new Set([TELFM.trackerId, ARRAYS.trackerId]);
      writeFileSync(file, JSON.stringify({ ...fleet, trackers: fleet.trackers.map((tr) => (blocked.has(tr.id) ? { ...tr, blocked: true } : tr)) }));
      const result = runCli(dbFile, ['import', file], cliEnv);
      t.equal(result.code, 0, result.stderr);
      const deadline = new Promise((_, reject) => setTimeout(() => reject(new Error('a tracker was not closed within 1 s')), 1_000));
      await Promise.race([Promise.all(gone), deadline]);
      t.pass('closed on A and on B');
    });

    t.test('closing a node closes its Redis connections', async (t) => {
      const { redis, a, b } = await twoNodes(t, backend);
      const db = new Redis(redis.url);
      t.teardown(() => db.disconnect());
      const clients = async () =>
        String(await db.client('LIST'))
          .trim()
          .split('\n').length;
      t.ok((await clients()) >= 7, "both nodes' emitter and persistence connections, and this one");
      await a.server.close();
      await b.server.close();
      await eventually(async () => (await clients()) === 1, 5000, 'only the test connection left');
      t.pass('every node connection closed');
    });
  });
}
