/**
 * The multi-node contract (docs/scaling.md, docs/mqtt.md#several-nodes) with real `serve` processes
 * on one PostgreSQL and one Redis: every HTTP call answers the same on every node, a logout holds
 * everywhere within 1 s, updates reach trackers on any node, and a SIGKILLed node loses no answered
 * update. One PostgreSQL server for the file, a fresh database and a fresh Redis per test.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import tap, { type Test } from 'tap';
import { runCli } from '../helpers/cli.js';
import { ALICE, fleetFile, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { collect, connect, eventually, trackerOptions, until, type Received } from '../helpers/mqtt.js';
import { runNodeUntilExit, startNode, type NodeProcess } from '../helpers/nodes.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';
import { get, login, post, tempDir } from '../helpers/server.js';

/** Extra telfm trackers of alice for the update streams. */
const STREAM = Array.from({ length: 4 }, (_, i) => ({
  trackerId: 2001 + i,
  deviceId: `35630704245${String(i).padStart(4, '0')}`,
  secret: `secret-stream-${2001 + i}`,
}));

const topicOf = (deviceId: string) => `trackers/${deviceId}/config/tracking`;

let postgres: Promise<PostgresServer> | undefined;

/** A fresh database with the standard fleet (and the stream trackers) imported by the CLI. */
async function importedDatabase(t: Test): Promise<string> {
  postgres ??= startPostgres(tap as unknown as Test);
  const url = await (await postgres).createDatabase();
  const fleet = fleetFile();
  const file = join(tempDir(t), 'fleet.json');
  const stream = STREAM.map((d) => ({
    id: d.trackerId,
    owner: ALICE.login,
    label: `Stream ${d.trackerId}`,
    model: 'telfm',
    device_id: d.deviceId,
    device_secret: d.secret,
  }));
  writeFileSync(file, JSON.stringify({ ...fleet, trackers: [...fleet.trackers, ...stream] }));
  const result = runCli(join(tempDir(t), 'unused.db'), ['import', file], { TRACKCONF_DATABASE_URL: url });
  if (result.code !== 0) throw new Error(`import failed (${result.code}): ${result.stderr}`);
  return url;
}

/** `count` serve nodes on one fresh database and one Redis; rate limits off (the streams send hundreds of calls). */
async function cluster(t: Test, count: number): Promise<{ nodes: NodeProcess[]; databaseUrl: string }> {
  const [databaseUrl, redis] = await Promise.all([importedDatabase(t), startRedis(t)]);
  const env = {
    TRACKCONF_DATABASE_URL: databaseUrl,
    TRACKCONF_REDIS_URL: redis.url,
    TRACKCONF_RATE_LIMIT: '0',
    TRACKCONF_RATE_LIMIT_PER_ADDRESS: '0',
    TRACKCONF_LOG_LEVEL: 'warn',
  };
  const names = ['a', 'b', 'c'].slice(0, count);
  const nodes = await Promise.all(names.map((name) => startNode(t, { name, env })));
  return { nodes, databaseUrl };
}

const update = (node: NodeProcess, hash: string, trackerId: number, settings: Record<string, unknown>) =>
  post(node.httpUrl, 'tracker/settings/tracking/update', { hash, tracker_id: trackerId, tracking_settings: settings });
const read = async (node: NodeProcess, hash: string, trackerId = TELFM.trackerId) =>
  (await get(node.httpUrl, 'tracker/settings/tracking/read', { hash, tracker_id: String(trackerId) })).body;
const history = async (node: NodeProcess, hash: string, trackerId: number) => {
  const answer = await get(node.httpUrl, 'tracker/settings/tracking/history', { hash, tracker_id: String(trackerId), limit: '1000' });
  if (answer.body.success !== true) throw new Error(`history failed: ${JSON.stringify(answer.body)}`);
  return answer.body.list as { version: number; settings: Record<string, unknown> }[];
};

tap.test('a session from user/auth on node A works on node B; every call answers the same on both', async (t) => {
  const { nodes } = await cluster(t, 2);
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const hash = await login(a.httpUrl, ALICE);
  const same = async (path: string, query: Record<string, string>) => {
    const [onA, onB] = await Promise.all([get(a.httpUrl, path, { hash, ...query }), get(b.httpUrl, path, { hash, ...query })]);
    t.equal(onB.body.success, true, `${path} on B`);
    t.same(onB.body, onA.body, `${path}: the same answer on A and B`);
  };
  await same('user/get_info', {});
  await same('tracker/list', {});
  t.equal((await update(a, hash, TELFM.trackerId, VALID_TELFM)).body.success, true, 'update through A');
  await same('tracker/settings/tracking/read', { tracker_id: String(TELFM.trackerId) });
  t.equal((await update(b, hash, TELFM.trackerId, { tracking_interval: 90 })).body.success, true, 'update through B');
  const [onA, onB] = [await read(a, hash), await read(b, hash)];
  t.equal(onA.sync.version, 2, 'A reads the version written through B');
  t.same(onA, onB);
  await same('tracker/settings/tracking/history', { tracker_id: String(TELFM.trackerId) });
});

tap.test('a logout on node A: the hash is refused on node B within 1 s', async (t) => {
  const { nodes } = await cluster(t, 2);
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const hash = await login(a.httpUrl, ALICE);
  t.equal((await get(b.httpUrl, 'tracker/list', { hash })).body.success, true, 'B knows the session');
  const out = await get(a.httpUrl, 'user/logout', { hash });
  t.equal(out.body.success, true, 'logout on A');
  // the contract's deadline, counted from the logout's answer (docs/scaling.md)
  await eventually(async () => (await get(b.httpUrl, 'tracker/list', { hash })).body.status?.code === 4, 1_000, 'B refusing the hash with 4');
  t.equal((await get(a.httpUrl, 'tracker/list', { hash })).body.status?.code, 4, 'and A');
});

tap.test('an update through node A reaches the tracker on node B; its PUBACK and ack move the state seen on A', async (t) => {
  const { nodes } = await cluster(t, 2);
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const hash = await login(a.httpUrl, ALICE);
  const topic = topicOf(TELFM.deviceId);
  t.equal((await update(a, hash, TELFM.trackerId, VALID_TELFM)).body.success, true);
  const tracker = await connect(t, b.mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1, 5000, 'the retained config on B');
  t.equal(received[0]!.payload.version, 1);

  t.equal((await update(a, hash, TELFM.trackerId, { tracking_interval: 90 })).body.success, true);
  await until(() => received.some((m) => m.payload.version === 2), 5000, 'version 2 on B');
  t.equal(received.at(-1)!.payload.settings.tracking_interval, 90);
  await eventually(async () => (await read(a, hash)).sync.state === 'delivered', 5000, 'delivered (PUBACK to B) seen on A');
  t.equal((await read(a, hash)).sync.version, 2);
  await tracker.publishAsync(`${topic}/ack`, JSON.stringify({ version: 2, status: 'applied' }), { qos: 1 });
  await eventually(async () => (await read(a, hash)).sync.state === 'applied', 5000, 'applied (ack to B) seen on A');
  t.equal((await read(b, hash)).sync.state, 'applied', 'the same on B');
});

tap.test('without Redis: a first node serves, a second one on the same database exits 2 with one line', async (t) => {
  const databaseUrl = await importedDatabase(t);
  const env = { TRACKCONF_DATABASE_URL: databaseUrl, TRACKCONF_LOG_LEVEL: 'warn' };
  const first = await startNode(t, { name: 'alone', env });
  t.equal((await get(first.httpUrl, 'tracker/list', { hash: ALICE.apiKey })).body.success, true, 'the first node serves');
  const second = await runNodeUntilExit(t, { name: 'second', env });
  t.equal(second.code, 2, 'exit code 2');
  // every command that opens the database names it first (src/cli/database.ts); then the error, in one line
  const [named, ...lines] = second.stderr.trim().split('\n');
  t.match(named, /^trackconf: database postgres:\/\/trackconf:\*\*\*@.* \(PostgreSQL\)$/, 'the database named, password hidden');
  t.equal(lines.length, 1, `one error line on stderr: ${second.stderr}`);
  t.match(lines[0], /^trackconf: TRACKCONF_DATABASE_URL: .*needs TRACKCONF_REDIS_URL \(Redis\)/, 'saying Redis is needed');
  t.equal(second.stdout.trim(), '', 'nothing on stdout');
  t.equal((await get(first.httpUrl, 'tracker/list', { hash: ALICE.apiKey })).body.success, true, 'the first node still serves');
});

interface Outcome {
  readonly trackerId: number;
  readonly interval: number;
  readonly node: string;
  /** The version answered, or undefined when no answer came (the node died). */
  readonly version?: number;
}

/**
 * A tracker connected to `first`; when that connection closes it connects (and keeps reconnecting)
 * to `then`, subscribing again each time: what a tracker behind a load balancer does.
 */
async function roamingTracker(t: Test, device: (typeof STREAM)[number], first: string, then: string): Promise<Received[]> {
  const topic = topicOf(device.deviceId);
  const initial = await connect(t, first, trackerOptions(device));
  const received = collect(initial);
  await initial.subscribeAsync(topic, { qos: 1 });
  initial.once('close', () => {
    const again: MqttClient = mqtt.connect(then, { ...trackerOptions(device), reconnectPeriod: 200, connectTimeout: 5_000 });
    t.teardown(() => again.endAsync(true));
    again.on('message', (topicName, payload) => received.push({ topic: topicName, payload: JSON.parse(payload.toString()), retain: false, qos: 1 }));
    again.on('connect', () => void again.subscribeAsync(topic, { qos: 1 }).catch(() => undefined));
  });
  return received;
}

tap.test('SIGKILL of a node in the middle of a stream of updates loses no answered update', async (t) => {
  const { nodes } = await cluster(t, 3);
  const [a, b, c] = nodes as [NodeProcess, NodeProcess, NodeProcess];
  const hash = await login(b.httpUrl, ALICE);
  const received = await Promise.all(STREAM.map((device) => roamingTracker(t, device, a.mqttUrl, b.mqttUrl)));

  // 100 updates per tracker, each with its own tracking_interval, alternately through A and B; A is
  // killed once a quarter of all updates have been answered by it, with up to 4 of its calls in flight
  const perTracker = 100;
  const jobs = Array.from({ length: perTracker }, (_, i) =>
    STREAM.map((d) => ({ trackerId: d.trackerId, interval: 100 + i, node: i % 2 === 0 ? a : b })),
  ).flat();
  const outcomes: Outcome[] = [];
  let answeredOnA = 0;
  const send = async (node: NodeProcess): Promise<void> => {
    const queue = jobs.filter((job) => job.node === node);
    const worker = async () => {
      for (let job = queue.shift(); job; job = queue.shift()) {
        let answer: Awaited<ReturnType<typeof update>> | undefined;
        try {
          answer = await update(node, hash, job.trackerId, { ...VALID_TELFM, tracking_interval: job.interval });
        } catch {
          outcomes.push({ trackerId: job.trackerId, interval: job.interval, node: node.name });
          continue;
        }
        if (answer.body.success !== true) throw new Error(`node ${node.name} answered ${JSON.stringify(answer.body)}:\n${node.logs().slice(-3000)}`);
        outcomes.push({ trackerId: job.trackerId, interval: job.interval, node: node.name, version: answer.body.sync.version as number });
        if (node === a && ++answeredOnA === jobs.length / 4) a.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
  };
  await Promise.all([send(a), send(b)]);
  t.same(await a.exited, { code: null, signal: 'SIGKILL' }, 'node A was killed mid-stream');
  const answered = outcomes.filter((o) => o.version !== undefined);
  t.ok(
    outcomes.some((o) => o.node === 'a' && o.version === undefined),
    `some updates sent to A got no answer (${outcomes.length - answered.length})`,
  );
  t.equal(answered.filter((o) => o.node === 'b').length, jobs.length / 2, 'every update through B answered');

  for (const [i, device] of STREAM.entries()) {
    const list = await history(c, hash, device.trackerId);
    const versions = list.map((v) => v.version).reverse();
    t.same(
      versions,
      Array.from({ length: versions.length }, (_, k) => k + 1),
      `tracker ${device.trackerId}: versions 1..${versions.length}, no gap, none twice`,
    );
    const intervals = list.map((v) => v.settings.tracking_interval);
    t.equal(new Set(intervals).size, intervals.length, `tracker ${device.trackerId}: no update stored twice`);
    const byVersion = new Map(list.map((v) => [v.version, v.settings.tracking_interval]));
    const lost = answered.filter((o) => o.trackerId === device.trackerId && byVersion.get(o.version!) !== o.interval);
    t.same(lost, [], `tracker ${device.trackerId}: every answered update is in the history under its version`);
    const latest = versions.length;
    await until(() => received[i]!.some((m) => m.payload.version === latest), 20_000, `tracker ${device.trackerId} holding version ${latest} on B`);
    t.equal(
      received[i]!.find((m) => m.payload.version === latest)!.payload.settings.tracking_interval,
      byVersion.get(latest),
      `tracker ${device.trackerId} ends at its latest settings`,
    );
  }
});

tap.test('concurrent updates of one tracker through A and B: all answered, versions 1..100 without gap or duplicate', async (t) => {
  const { nodes } = await cluster(t, 2);
  const [a, b] = nodes as [NodeProcess, NodeProcess];
  const hash = await login(a.httpUrl, ALICE);
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => update(i % 2 === 0 ? a : b, hash, TELFM.trackerId, { ...VALID_TELFM, tracking_interval: 100 + i })),
  );
  const failed = answers.filter((answer) => answer.body.success !== true).map((answer) => answer.body);
  t.same(failed, [], 'every update answered success');
  const versions = answers.map((answer) => answer.body.sync?.version as number).sort((x, y) => x - y);
  t.same(
    versions,
    Array.from({ length: 100 }, (_, k) => k + 1),
    'the answers hold versions 1..100, each once',
  );
  const list = await history(b, hash, TELFM.trackerId);
  t.same(list.map((v) => v.version).reverse(), versions, 'the history holds the same versions');
  const byVersion = new Map(list.map((v) => [v.version, v.settings.tracking_interval]));
  t.ok(
    answers.every((answer, i) => byVersion.get(answer.body.sync.version) === 100 + i),
    'each answered version holds the settings of its own update',
  );
});
