/**
 * The lean clean-session CONNECT and parser (src/broker/aedes-internals/lean-clients.ts, lean-parser.ts): the aedes
 * and mqtt-packet code they follow is still what they were written against, they are in use, and
 * what they skip or replace behaves as stock aedes (sessions, wills, keepalive, pipelined packets).
 */
import mqttPacket from 'mqtt-packet';
import t, { type Test } from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { mqttBytes, rawSocket, socketClosed } from '../helpers/lite-mqtt.js';
import { collect, connect, drained, eventually, trackerOptions, until } from '../helpers/mqtt.js';
import { post, startTestServer } from '../helpers/server.js';
import { checkFollowed, fileHash, FOLLOWED, installedVersion } from '../../src/broker/aedes-internals/guard.js';
import { LEAN_AEDES_VERSION } from '../../src/broker/aedes-internals/lean-clients.js';
import { LEAN_MQTT_PACKET_VERSION } from '../../src/broker/aedes-internals/lean-parser.js';

const topic = `trackers/${TELFM.deviceId}/config/tracking`;
const reportedTopic = `${topic}/reported`;

t.test('the aedes and mqtt-packet code the patches follow is unchanged (aedes-internals/guard.ts)', async (t) => {
  for (const [pkg, version] of Object.entries(FOLLOWED.packages)) t.equal(installedVersion(pkg), version, `${pkg} version`);
  t.equal(FOLLOWED.packages.aedes, LEAN_AEDES_VERSION, 'the lean CONNECT follows that aedes');
  t.equal(FOLLOWED.packages['mqtt-packet'], LEAN_MQTT_PACKET_VERSION, 'the lean parser follows that mqtt-packet');
  for (const [path, expected] of Object.entries(FOLLOWED.files)) {
    // on a change: re-read the file against the patches that depend on it (docs/aedes-internals.md), then update guard.ts
    t.equal(fileHash(path), expected, `${path} is the version the patches follow`);
  }
  t.same([...checkFollowed()], [], 'every patch can be installed');
});

t.test('clean sessions take the lean path, with the lean parser; persistent ones stay on aedes', async (t) => {
  const { server, mqttUrl } = await startTestServer(t);
  const lean = server.broker.lean;
  t.ok(lean, 'installed on this aedes');
  const clients = (server.broker.aedes as unknown as { clients: Record<string, unknown> }).clients;
  const gone = () => until(() => clients[TELFM.deviceId] === undefined, 5_000, 'the broker to drop the connection');
  const before = lean!.leanConnects;
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  t.equal(lean!.leanConnects, before + 1, 'a clean CONNECT is handled by the lean path');
  const client = server.broker.aedes as unknown as { clients: Record<string, { _parser: { _list: object; settings: object } }> };
  const parser = client.clients[TELFM.deviceId]!._parser;
  t.equal(parser._list.constructor.name, 'BufferList', 'its parser holds a plain BufferList');
  t.same(Object.keys(parser.settings).sort(), ['bridgeMode', 'protocolVersion'], 'and no longer the CONNECT packet (password included)');
  await tracker.endAsync();

  const port = server.ports.mqtt!;
  const persistent = await rawConnect(t, port, { clean: false });
  t.same(persistent.connack, { returnCode: 0, sessionPresent: false }, 'a first persistent CONNECT: no session yet');
  t.equal(lean!.leanConnects, before + 1, 'a persistent CONNECT is handled by aedes');
  persistent.socket.write(mqttBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }));
  await until(() => persistent.seen.includes('suback'));
  t.ok(lean!.sessionIds.has(TELFM.deviceId), 'its id is known to have session state');
  persistent.socket.destroy();
  await gone();
  const resumed = await rawConnect(t, port, { clean: false });
  t.same(resumed.connack, { returnCode: 0, sessionPresent: true }, 'the session is restored');
  resumed.socket.destroy();
  await gone();
  const clean = await rawConnect(t, port, { clean: true });
  t.same(clean.connack, { returnCode: 0, sessionPresent: false }, 'a clean CONNECT of that id: no session');
  t.equal(lean!.leanConnects, before + 2, 'handled by the lean path, which runs the steps that clear the stored session');
  clean.socket.destroy();
  await gone();
  const after = await rawConnect(t, port, { clean: false });
  t.same(after.connack, { returnCode: 0, sessionPresent: false }, 'the stored session was dropped');
  after.socket.destroy();
});

/** A tracker (TELFM) on a raw socket: its CONNACK, and the commands it receives (QoS 1 PUBLISHes are PUBACKed). */
async function rawConnect(t: Test, port: number, options: { clean: boolean; keepalive?: number; extra?: Buffer }) {
  const socket = await rawSocket(port);
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const seen: string[] = [];
  let connack: { returnCode: number; sessionPresent: boolean } | undefined;
  parser.on('packet', (packet) => {
    seen.push(packet.cmd);
    if (packet.cmd === 'connack') connack = { returnCode: packet.returnCode ?? -1, sessionPresent: packet.sessionPresent };
    if (packet.cmd === 'publish' && packet.qos === 1) socket.write(mqttBytes({ cmd: 'puback', messageId: packet.messageId! }));
  });
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  const connect = mqttBytes({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: options.clean,
    keepalive: options.keepalive ?? 0,
    clientId: TELFM.deviceId,
    username: TELFM.deviceId,
    password: Buffer.from(TELFM.secret),
  });
  socket.write(options.extra ? Buffer.concat([connect, options.extra]) : connect);
  await until(() => connack !== undefined, 3_000, 'CONNACK');
  return { socket, seen, connack: connack! };
}

t.test('a clean CONNECT of an id with a stored session drops it, as aedes does', async (t) => {
  const { server, mqttUrl, url } = await startTestServer(t);
  const hash = await postLogin(url);
  const observer = { username: ALICE.login, password: ALICE.password, clientId: 'dash-lean' };

  // an observer's persistent session gets a tracker's reported message queued while it is offline
  const first = await connect(t, mqttUrl, { ...observer, clean: false });
  await first.subscribeAsync('trackers/+/config/#', { qos: 1 });
  await first.endAsync();
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  await tracker.publishAsync(reportedTopic, JSON.stringify({ settings: { n: 1 } }), { qos: 1 }); // PUBACK: queued
  const control = await connect(t, mqttUrl, { ...observer, clean: false });
  const controlReceived = collect(control);
  await until(() => controlReceived.length === 1, 3_000, 'the queued message');
  t.same(controlReceived[0]!.payload, { settings: { n: 1 } }, 'control: a resumed session gets what was queued for it');
  await control.endAsync();
  await tracker.publishAsync(reportedTopic, JSON.stringify({ settings: { n: 2 } }), { qos: 1 });

  // a clean CONNECT with that client id: session not present, nothing of it delivered
  const clean = await connect(t, mqttUrl, { ...observer, clean: true });
  const cleanReceived = collect(clean);
  await clean.subscribeAsync(reportedTopic, { qos: 1 }); // only to receive the marker: the queued one was due before
  await drained(server.broker.aedes, reportedTopic, cleanReceived);
  t.same(cleanReceived, [], 'the queued message is not delivered to the clean session');
  await clean.endAsync();

  // the stored session is gone: a persistent CONNECT finds nothing, gets nothing
  const resumed = await connect(t, mqttUrl, { ...observer, clean: false });
  const resumedReceived = collect(resumed);
  await resumed.subscribeAsync(reportedTopic, { qos: 1 });
  await drained(server.broker.aedes, reportedTopic, resumedReceived);
  t.same(resumedReceived, [], 'neither subscriptions nor queued messages survived the clean session');

  // and the tracker's config still flows to a clean observer that subscribes
  const live = await connect(t, mqttUrl, { ...observer, clientId: 'dash-live' });
  const liveReceived = collect(live);
  await live.subscribeAsync(topic, { qos: 1 });
  await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  await until(() => liveReceived.some((m) => m.topic === topic));
  t.ok(server.broker.lean, 'lean path in use');
});

t.test('wills of clean sessions: published when the connection is lost, not after DISCONNECT', async (t) => {
  const { server, mqttUrl } = await startTestServer(t);
  const will = { topic: reportedTopic, payload: Buffer.from(JSON.stringify({ settings: {} })), qos: 1 as const, retain: false };
  const polite = await connect(t, mqttUrl, trackerOptions(TELFM, { will }));
  await polite.endAsync();
  await until(() => (server.broker.aedes as unknown as { clients: Record<string, unknown> }).clients[TELFM.deviceId] === undefined);
  t.equal(server.devices.counters.reported, 0, 'no will after a DISCONNECT');

  const port = server.ports.mqtt!;
  const socket = await rawSocket(port);
  socket.on('error', () => undefined);
  socket.write(
    mqttBytes({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      keepalive: 0,
      clientId: TELFM.deviceId,
      username: TELFM.deviceId,
      password: Buffer.from(TELFM.secret),
      will,
    }),
  );
  await until(() => (server.broker.aedes as unknown as { clients: Record<string, { connected: boolean }> }).clients[TELFM.deviceId]?.connected === true);
  socket.destroy();
  await until(() => server.devices.counters.reported === 1, 3_000, 'the will');
  t.pass('the will is published when the connection is lost');
});

t.test('keepalive of a clean session: a silent client is closed', async (t) => {
  const { server } = await startTestServer(t);
  const before = server.broker.lean!.leanConnects;
  const { socket, connack } = await rawConnect(t, server.ports.mqtt!, { clean: true, keepalive: 1 });
  t.same(connack, { returnCode: 0, sessionPresent: false }, 'accepted');
  t.equal(server.broker.lean!.leanConnects, before + 1, 'lean path');
  await socketClosed(socket, 10_000);
  t.pass('closed by the broker (its keepalive timer; no wall-clock bound is asserted)');
});

t.test('CONNECT and SUBSCRIBE in one write: CONNACK, SUBACK and the retained config', async (t) => {
  const { server, url } = await startTestServer(t);
  const hash = await postLogin(url);
  await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  const before = server.broker.lean!.leanConnects;
  const { seen, socket } = await rawConnect(t, server.ports.mqtt!, {
    clean: true,
    extra: mqttBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] }),
  });
  t.equal(server.broker.lean!.leanConnects, before + 1, 'lean path');
  await until(() => seen.includes('publish'));
  t.same(seen, ['connack', 'suback', 'publish'], 'in order');
  let state = '';
  const read = async () => (await post(url, 'tracker/settings/tracking/read', { hash, tracker_id: TELFM.trackerId })).body.sync.state as string;
  await eventually(async () => (state = await read()) === 'delivered', 5_000).catch(() => undefined);
  t.equal(state, 'delivered', 'its PUBACK marks the version delivered');
  socket.destroy();
});

async function postLogin(url: string): Promise<string> {
  const answer = await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password });
  return answer.body.hash as string;
}

t.test('on another aedes the patch is not installed and says why', async (t) => {
  const { installLeanClients } = await import('../../src/broker/aedes-internals/lean-clients.js');
  const reasons: string[] = [];
  const other = { version: '9.9.9', handle: () => undefined } as unknown as Parameters<typeof installLeanClients>[0];
  t.equal(await installLeanClients(other, (_patch, reason) => reasons.push(reason)), undefined, 'not installed');
  t.match(reasons[0], /aedes 9\.9\.9 is not/, 'reason given');
});
