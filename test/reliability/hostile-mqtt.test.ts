/**
 * Hostile MQTT clients (docs/reliability.md#4-hostile-mqtt-clients): raw-socket garbage and truncated packets, oversized packets and
 * payloads, connection floods from one address, clients that never read, wrong keepalives and
 * takeover attempts. Each test ends with the same check: the service is up and a well-behaved
 * tracker still gets its new config at once.
 */
import type { Socket } from 'node:net';
import t, { type Test } from 'tap';
import { ALICE, ARRAYS, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { LiteTracker, mqttBytes, rawSocket, socketClosed } from '../helpers/lite-mqtt.js';
import { prng } from '../helpers/service.js';
import { freePort, post, startTestServer, type TestServer } from '../helpers/server.js';
import { loadConfig } from '../../src/config/load.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { eventually, until } from '../helpers/mqtt.js';

const VALID_JT703 = { tracking_interval: 60, sleep_mode: 'disabled' };

/** A bystander tracker (ARRAYS) subscribed before the attack; `check` updates it and waits for the config. */
async function bystander(t: Test, ts: TestServer) {
  const port = ts.server.ports.mqtt!;
  const tracker = await LiteTracker.connect(ARRAYS, { port });
  t.teardown(() => tracker.destroy());
  await tracker.subscribe();
  let interval = 60;
  return {
    tracker,
    async check(what: string) {
      interval += 1;
      const answer = await post(ts.url, 'tracker/settings/tracking/update', {
        hash: ALICE.apiKey,
        tracker_id: ARRAYS.trackerId,
        tracking_settings: { ...VALID_JT703, tracking_interval: interval },
      });
      t.equal(answer.body.success, true, `${what}: update accepted`);
      const version = answer.body.sync.version as number;
      await until(() => (tracker.latest?.version ?? 0) >= version || tracker.closed, 15_000).catch(() => undefined);
      t.equal(tracker.latest?.version, version, `${what}: the bystander tracker got version ${version}`);
      t.notOk(tracker.closed, `${what}: the bystander is still connected`);
    },
  };
}

function connectPacket(clientId: string, username?: string, password?: string, extra: Record<string, unknown> = {}): Buffer {
  return mqttBytes({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clientId,
    clean: true,
    keepalive: 0,
    ...(username !== undefined && { username }),
    ...(password !== undefined && { password: Buffer.from(password) }),
    ...extra,
  } as Parameters<typeof mqttBytes>[0]);
}

/** Resolves when the socket can take more bytes ('drain') or is closed, whichever comes first. */
function writable(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** Reads whatever the server sends on a raw socket (to see CONNACKs). */
function bytesOf(socket: Socket): Buffer[] {
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('error', () => undefined);
  return chunks;
}

t.test('garbage and truncated packets', async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const port = ts.server.ports.mqtt!;
  const { check } = await bystander(t, ts);
  const random = prng(1234);
  const baseline = ts.server.broker.aedes.connectedClients;
  const sockets: Socket[] = [];
  for (let i = 0; i < 60; i++) {
    const socket = await rawSocket(port);
    socket.on('error', () => undefined);
    sockets.push(socket);
    const size = 1 + Math.floor(random() * 2048);
    socket.write(Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256))));
  }
  // Garbage that parses as the start of a packet waits for its CONNECT (aedes' connectTimeout, 30 s);
  // the rest is closed at once. Either way nothing reaches authentication.
  const closedNow = () => sockets.filter((s) => s.destroyed || s.readyState === 'closed').length;
  await until(() => closedNow() > 0, 15_000).catch(() => undefined);
  t.ok(closedNow() > 0, `${closedNow()} of 60 garbage connections closed without waiting for the CONNECT timeout`);
  // Truncated: half a CONNECT, a CONNECT then half a PUBLISH, a header announcing more than is sent.
  const connect = connectPacket(TELFM.deviceId, TELFM.deviceId, TELFM.secret);
  const half = await rawSocket(port);
  half.write(connect.subarray(0, connect.length >> 1));
  const truncatedPublish = await rawSocket(port);
  bytesOf(truncatedPublish);
  truncatedPublish.write(connect);
  const publish = mqttBytes({
    cmd: 'publish',
    topic: `trackers/${TELFM.deviceId}/config/tracking/reported`,
    payload: Buffer.from('{"settings":{}}'),
    qos: 0,
    retain: false,
    dup: false,
  });
  truncatedPublish.write(publish.subarray(0, publish.length - 5));
  await check('after 60 garbage connections and truncated packets');
  for (const socket of [...sockets, half, truncatedPublish]) socket.destroy();
  await until(() => ts.server.broker.aedes.connectedClients === baseline, 15_000).catch(() => undefined);
  t.equal(ts.server.broker.aedes.connectedClients, baseline, 'every hostile connection is gone once its peer left');
  t.equal(ts.server.devices.counters.reported, 0, 'the truncated PUBLISH was never processed');
});

t.test('oversized packets are refused at the fixed header; oversized payloads by the configured maximum', async (t) => {
  const maxPayloadBytes = 4096;
  const ts = await startTestServer(t, { config: { ...NO_RATE_LIMIT, mqtt: { maxPayloadBytes } } });
  const port = ts.server.ports.mqtt!;
  const { check } = await bystander(t, ts);

  // A PUBLISH announcing 200 MiB before any CONNECT: closed after the header, not after 200 MiB.
  const socket = await rawSocket(port);
  socket.on('error', () => undefined);
  const header = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]); // remaining length 268,435,455
  socket.write(header);
  let written = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const closing = socketClosed(socket, 5_000);
  let open = true;
  socket.once('close', () => (open = false));
  while (open && written < 32 * 1024 * 1024) {
    if (!socket.write(chunk)) await writable(socket);
    written += chunk.length;
  }
  await closing;
  t.ok(written < 32 * 1024 * 1024, `closed after ${(written / 1024 / 1024).toFixed(1)} MiB were written of 256 MiB announced`);

  // Over the cap as a CONNECT (a will message of 1 MiB).
  const bigConnect = await rawSocket(port);
  bigConnect.on('error', () => undefined);
  bigConnect.write(
    connectPacket(TELFM.deviceId, TELFM.deviceId, TELFM.secret, {
      will: { topic: `trackers/${TELFM.deviceId}/config/tracking/reported`, payload: Buffer.alloc(1024 * 1024), qos: 0, retain: false },
    }),
  );
  await socketClosed(bigConnect, 2_000);
  t.pass('a CONNECT over the cap is closed');

  // Authenticated: a payload one byte over maxPayloadBytes is refused and the connection closed.
  const tracker = await LiteTracker.connect(TELFM, { port });
  t.teardown(() => tracker.destroy());
  const reported = `trackers/${TELFM.deviceId}/config/tracking/reported`;
  tracker.publish(reported, Buffer.alloc(maxPayloadBytes, 0x20), 1);
  await until(() => tracker.pubacks === 1 || tracker.closed, 15_000);
  t.notOk(tracker.closed, 'a payload of exactly maxPayloadBytes is accepted (and dropped as malformed JSON)');
  tracker.publish(reported, Buffer.alloc(maxPayloadBytes + 1, 0x20), 1);
  await socketClosed(tracker.socket, 2_000);
  t.pass('a payload of maxPayloadBytes + 1 closes the connection');
  t.equal(ts.server.devices.counters.reported, 0, 'nothing was recorded as reported');
  await check('after oversized packets');
});

t.test('connection floods from one address', async (t) => {
  t.test('rate limited in preConnect when mqtt.connectsPerSecondPerAddress is set', async (t) => {
    // The limiter's clock stands still unless the test moves it: the burst below sees exactly 5 tokens.
    let now = 1_000_000;
    const ts = await startTestServer(t, { config: { ...NO_RATE_LIMIT, mqtt: { connectsPerSecondPerAddress: 5 } }, clock: () => now });
    const port = ts.server.ports.mqtt!;
    const { check } = await bystander(t, ts);
    now += 1_000; // the bystander's token comes back
    const sockets = await Promise.all(Array.from({ length: 60 }, () => rawSocket(port)));
    const answers = sockets.map(bytesOf);
    for (const [i, socket] of sockets.entries()) socket.write(connectPacket(TELFM.deviceId, TELFM.deviceId, `wrong-${i}`));
    await Promise.all(sockets.map((s) => socketClosed(s, 5_000)));
    const connacks = answers.filter((chunks) => Buffer.concat(chunks)[0] === 0x20).length;
    t.equal(connacks, 5, 'the limit (5/s, burst 5) let 5 of a burst of 60 CONNECTs reach authentication');
    now += 1_000; // the burst is over: the tokens come back
    const tracker = await LiteTracker.connect(TELFM, { port });
    t.teardown(() => tracker.destroy());
    t.pass('a tracker from the same address connects once the burst is over');
    await check('after a connection flood');
  });

  t.test('off by default (CGNAT fleets share an address): 200 connects in a burst all answered', async (t) => {
    const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
    const port = ts.server.ports.mqtt!;
    const sockets = await Promise.all(Array.from({ length: 200 }, () => rawSocket(port)));
    const answers = sockets.map(bytesOf);
    for (const [i, socket] of sockets.entries()) socket.write(connectPacket(TELFM.deviceId, TELFM.deviceId, `wrong-${i}`));
    await Promise.all(sockets.map((s) => socketClosed(s, 10_000)));
    t.equal(answers.filter((chunks) => Buffer.concat(chunks)[0] === 0x20).length, 200, 'every CONNECT got its CONNACK (4)');
  });
});

t.test('idle and unauthenticated connections cannot use up the file descriptors', async (t) => {
  t.test('a socket that sends no CONNECT is closed after mqtt.connectTimeoutMs', async (t) => {
    const ts = await startTestServer(t, {
      config: { ...NO_RATE_LIMIT, mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), connectTimeoutMs: 300 } },
    });
    const port = ts.server.ports.mqtt!;
    const silent = await rawSocket(port);
    silent.on('error', () => undefined);
    // generous: aedes' own connect timeout (30 s) is far beyond it
    await socketClosed(silent, 15_000);
    t.pass('the silent socket was closed by the service');
    const halfConnect = await rawSocket(port);
    halfConnect.on('error', () => undefined);
    const connect = connectPacket(TELFM.deviceId, TELFM.deviceId, TELFM.secret);
    halfConnect.write(connect.subarray(0, 10));
    await socketClosed(halfConnect, 15_000);
    t.pass('a socket that sent half a CONNECT was closed too');
    const tracker = await LiteTracker.connect(TELFM, { port, keepalive: 0 });
    t.teardown(() => tracker.destroy());
    await tracker.subscribe();
    // A silent socket opened after the tracker is closed by its timeout: the tracker's has passed too.
    const later = await rawSocket(port);
    later.on('error', () => undefined);
    await socketClosed(later, 15_000);
    t.notOk(tracker.closed, 'an authenticated tracker idle past the connect timeout stays connected');
    t.equal(await tracker.subscribe(), 1, 'and is still served (a SUBACK after the timeout)');
  });

  t.test('one address holds at most mqtt.maxUnauthenticatedPerAddress connections in their handshake', async (t) => {
    const cap = 20;
    // a connect timeout beyond every wait below: only a close or an authentication frees a slot
    const mqtt = { host: '127.0.0.1', port: 0, wsPort: await freePort(), maxUnauthenticatedPerAddress: cap, connectTimeoutMs: 300_000 };
    const ts = await startTestServer(t, { config: { ...NO_RATE_LIMIT, mqtt } });
    const port = ts.server.ports.mqtt!;
    const { check } = await bystander(t, ts);
    const held = await Promise.all(Array.from({ length: cap }, () => rawSocket(port)));
    for (const socket of held) socket.on('error', () => undefined);
    t.teardown(() => {
      for (const s of held) s.destroy();
    });
    const extra = await rawSocket(port);
    extra.on('error', () => undefined);
    await socketClosed(extra, 5_000);
    t.pass(`unauthenticated socket number ${cap + 1} from 127.0.0.1 is closed at once`);
    const elsewhere = await LiteTracker.connect(TELFM, { port, localAddress: '127.0.0.2' });
    t.teardown(() => elsewhere.destroy());
    t.pass('a tracker from another address connects meanwhile');
    await check('while one address holds its maximum of unauthenticated sockets');
    // The listener accepts in order: the guard had admitted or refused every held socket before it
    // answered the tracker above, and a refusal's close would have arrived before that round trip.
    t.ok(
      held.every((s) => !s.destroyed),
      `${cap} silent sockets from 127.0.0.1 are held (within the cap)`,
    );
    held[0]!.destroy();
    // The server sees that close a moment later: retried until the freed slot admits the tracker.
    let same: LiteTracker | undefined;
    await eventually(
      async () => {
        same = await LiteTracker.connect(NUMBERS, { port }).catch(() => undefined);
        return same !== undefined;
      },
      15_000,
      'a slot freed by the closed socket',
    );
    t.teardown(() => same?.destroy());
    t.pass('once a slot is free, a tracker from the same address connects (and no longer counts)');
    const again = await rawSocket(port);
    again.on('error', () => undefined);
    t.teardown(() => again.destroy());
    const over = await rawSocket(port);
    over.on('error', () => undefined);
    await socketClosed(over, 5_000);
    t.notOk(again.destroyed, 'the authenticated tracker gave its slot back: one more socket is held');
    t.pass('and the one after it is refused again');
  });

  t.test('the cap is generous by default and 0 turns it off', async (t) => {
    const config = loadConfig({}, {});
    t.equal(config.mqtt.maxUnauthenticatedPerAddress, 1000, 'carrier NAT: 1,000 handshakes per address');
    t.equal(config.mqtt.connectTimeoutMs, 10_000);
    const ts = await startTestServer(t, {
      config: { ...NO_RATE_LIMIT, mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort(), maxUnauthenticatedPerAddress: 0 } },
    });
    const port = ts.server.ports.mqtt!;
    const sockets = await Promise.all(Array.from({ length: 50 }, () => rawSocket(port)));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
    });
    // A round trip the listener accepted after them (in order): any refusal's close came before its CONNACK.
    const after = await LiteTracker.connect(TELFM, { port, localAddress: '127.0.0.2' });
    t.teardown(() => after.destroy());
    t.ok(
      sockets.every((s) => !s.destroyed),
      'no cap: 50 unauthenticated sockets stay open',
    );
  });
});

t.test('a client that never reads is disconnected; everyone else keeps receiving', async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const port = ts.server.ports.mqtt!;
  const { check } = await bystander(t, ts);

  // An observer (alice, by API key) subscribed to every config topic, that stops reading its socket.
  const observer = await rawSocket(port);
  const seen = bytesOf(observer);
  observer.write(connectPacket('dashboard-1', ALICE.login, ALICE.apiKey));
  observer.write(mqttBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'trackers/#', qos: 1 }] }));
  await until(() => Buffer.concat(seen).indexOf(0x90) >= 0, 15_000).catch(() => undefined);
  t.ok(Buffer.concat(seen).indexOf(0x90) >= 0, 'observer subscribed');
  observer.pause();
  // A paused socket sees no FIN: watch the broker's side.
  const observerClosed = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the observer was not disconnected')), 10_000);
    ts.server.broker.aedes.on('clientDisconnect', (client) => {
      if (client.id !== 'dashboard-1') return;
      clearTimeout(timer);
      resolve();
    });
  });

  // A tracker floods its own `reported` topic with large payloads: 400 × 60 KiB = 24 MiB to forward.
  const noisy = await LiteTracker.connect(NUMBERS, { port });
  t.teardown(() => noisy.destroy());
  const payload = Buffer.from(JSON.stringify({ settings: { note: 'x'.repeat(60 * 1024) } }));
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < 400; i++) {
    noisy.publish(`trackers/${NUMBERS.deviceId}/config/tracking/reported`, payload, i === 399 ? 1 : 0);
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await until(() => noisy.pubacks === 1 || noisy.closed, 30_000, 'the broker to take the whole flood'); // in order: the last one is PUBACKed after the rest
  // 150 updates of a device the observer sees: without the slow-consumer guard each one would hold
  // one of aedes' 100 delivery slots until the observer's socket drains (drainTimeout, 30 s).
  for (let i = 0; i < 150; i++) {
    await post(ts.url, 'tracker/settings/tracking/update', {
      hash: ALICE.apiKey,
      tracker_id: TELFM.trackerId,
      tracking_settings: { ...VALID_TELFM, tracking_distance: 100 + i },
    });
  }
  await check('while a client was not reading');
  await observerClosed;
  t.pass('the observer that does not read was disconnected by the service');
  // mqemitter's queue of undelivered messages (not in aedes' typings).
  const queued = (ts.server.broker.aedes as unknown as { mq: { length: number } }).mq.length;
  t.ok(queued < 100, `the broker's delivery queue is not backed up (${queued})`);
  const heapGrowth = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  t.ok(heapGrowth < 200, `heap growth bounded (${heapGrowth.toFixed(0)} MiB for 24 MiB sent to a non-reader)`);
  t.notOk(noisy.closed, 'the tracker that published (and reads) stays connected');
  observer.destroy();
});

t.test('wrong keepalives and protocol violations', async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const port = ts.server.ports.mqtt!;
  const { check } = await bystander(t, ts);
  const silent = await LiteTracker.connect(TELFM, { port, keepalive: 1 });
  await socketClosed(silent.socket, 15_000);
  t.pass('a tracker silent past 1.5 × its keepalive of 1 s is closed');

  const pingFirst = await rawSocket(port);
  pingFirst.on('error', () => undefined);
  pingFirst.write(mqttBytes({ cmd: 'pingreq' }));
  await socketClosed(pingFirst, 2_000);
  t.pass('a packet before CONNECT closes the connection');

  const mqtt5 = await rawSocket(port);
  bytesOf(mqtt5);
  mqtt5.write(
    mqttBytes({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 5,
      clientId: TELFM.deviceId,
      clean: true,
      keepalive: 0,
      username: TELFM.deviceId,
      password: Buffer.from(TELFM.secret),
    }),
  );
  await socketClosed(mqtt5, 2_000);
  t.pass('an unsupported protocol level is refused');

  const twice = await LiteTracker.connect(TELFM, { port });
  twice.socket.write(connectPacket(TELFM.deviceId, TELFM.deviceId, TELFM.secret));
  await socketClosed(twice.socket, 2_000);
  t.pass('a second CONNECT on a connection closes it');
  await check('after keepalive and protocol violations');
});

t.test('takeover attempts leave the connected tracker alone', async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const port = ts.server.ports.mqtt!;
  const victim = await LiteTracker.connect(TELFM, { port });
  t.teardown(() => victim.destroy());
  await victim.subscribe();
  const attempts: [string, Promise<LiteTracker>, number][] = [
    ['its device id with a wrong secret', LiteTracker.connect({ deviceId: TELFM.deviceId, secret: 'guess' }, { port }), 4],
    ['its client id with another device’s credentials', connectAs(port, TELFM.deviceId, ARRAYS.deviceId, ARRAYS.secret), 2],
    ['its client id as an observer', connectAs(port, TELFM.deviceId, ALICE.login, ALICE.apiKey), 2],
    ['its client id without credentials', connectAs(port, TELFM.deviceId), 4],
  ];
  for (const [what, attempt, code] of attempts) {
    const error = await attempt.then(
      (client) => {
        client.destroy();
        return undefined;
      },
      (err: { code?: number }) => err,
    );
    t.equal(error?.code, code, `${what}: CONNACK ${code}`);
  }
  t.equal(await victim.subscribe(), 1, 'a round trip on its connection after every attempt was answered: still served');
  t.notOk(victim.closed, 'the tracker was not disconnected');
  const answer = await post(ts.url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  await until(() => victim.latest?.version === answer.body.sync.version, 15_000).catch(() => undefined);
  t.equal(victim.latest?.version, answer.body.sync.version, 'and still receives its config');
});

/** A CONNECT with an arbitrary client id / username / password, through LiteTracker's CONNACK handling. */
function connectAs(port: number, clientId: string, username?: string, password?: string): Promise<LiteTracker> {
  return new Promise((resolve, reject) => {
    void rawSocket(port).then((socket) => {
      const chunks = bytesOf(socket);
      socket.write(connectPacket(clientId, username, password));
      socket.once('close', () => {
        const connack = Buffer.concat(chunks);
        if (connack[0] === 0x20 && connack[3] !== undefined && connack[3] !== 0) reject(Object.assign(new Error('refused'), { code: connack[3] }));
        else reject(Object.assign(new Error('closed'), { code: -1 }));
      });
      // accepted: CONNACK 0 arrived (a refusal is read when the server closes)
      socket.on('data', () => {
        const connack = Buffer.concat(chunks);
        if (connack[0] === 0x20 && connack[3] === 0) {
          socket.destroy();
          resolve({ destroy: () => undefined } as unknown as LiteTracker);
        }
      });
    }, reject);
  });
}
