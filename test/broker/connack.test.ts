import t from 'tap';
import { ALICE, BLOCKED, BOB, TELFM } from '../helpers/fleet.js';
import mqtt from 'mqtt';
import { closed, connackCode, connect, trackerOptions } from '../helpers/mqtt.js';
import { startTestServer } from '../helpers/server.js';

t.test('CONNACK rules for trackers and observers', async (t) => {
  const { mqttUrl } = await startTestServer(t);
  t.equal(await connackCode(mqttUrl, trackerOptions(TELFM)), 0, 'device id + secret + client id = device id');
  t.equal(await connackCode(mqttUrl, trackerOptions({ ...TELFM, secret: 'wrong' })), 4, 'wrong secret: 4');
  t.equal(await connackCode(mqttUrl, trackerOptions(BLOCKED)), 5, 'blocked device: 5');
  t.equal(await connackCode(mqttUrl, trackerOptions({ ...BLOCKED, secret: 'wrong' })), 4, 'blocked but wrong secret: 4, no hint');
  t.equal(await connackCode(mqttUrl, trackerOptions(TELFM, { clientId: 'someone-else' })), 2, 'client id not the device id: 2');
  t.equal(await connackCode(mqttUrl, trackerOptions(TELFM, { clientId: BLOCKED.deviceId })), 2, 'taking over another device id: 2');
  t.equal(await connackCode(mqttUrl, { clientId: 'anon' }), 4, 'no credentials: 4');
  t.equal(await connackCode(mqttUrl, { username: 'nobody', password: 'x', clientId: 'n1' }), 4, 'unknown user: 4');

  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash-1' }), 0, 'observer by password');
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.apiKey, clientId: 'dash-2' }), 0, 'observer by API key');
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: BOB.apiKey, clientId: 'dash-3' }), 4, "another user's API key: 4");
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: 'wrong', clientId: 'dash-4' }), 4, 'wrong password: 4');
  t.equal(
    await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: TELFM.deviceId }),
    2,
    'observer using a device id as client id: 2',
  );
});

t.test('credentials are read from the store on every connect', async (t) => {
  const { mqttUrl, server } = await startTestServer(t);
  const device = { deviceId: '860000000000001', secret: 'added-while-running' };
  t.equal(await connackCode(mqttUrl, trackerOptions(device)), 4, 'unknown before the import');
  const { provision } = await import('../../src/settings/provisioning.js');
  await provision(server.store, server.profiles, {
    trackers: [{ id: 5001, owner: ALICE.login, label: 'new', model: 'telfm', device_id: device.deviceId, device_secret: device.secret }],
  });
  t.equal(await connackCode(mqttUrl, trackerOptions(device)), 0, 'connects right after the import');
});

t.test('failed observer logins are throttled like user/auth', async (t) => {
  const { mqttUrl, url } = await startTestServer(t, { config: { login: { maxFailures: 3, windowSeconds: 900 } } });
  for (let i = 0; i < 3; i++) {
    t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: 'guess', clientId: `guess-${i}` }), 4, `guess ${i + 1}: 4`);
  }
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash' }), 5, 'then even the right password: 5');
  const http = await fetch(`${url}/user/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: ALICE.login, password: ALICE.password }),
  });
  t.equal(((await http.json()) as { status: { code: number } }).status.code, 105, 'and user/auth answers 105: one window for both');
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.apiKey, clientId: 'dash-key' }), 0, 'an API key still works');
});

t.test('a concurrent burst of observer guesses gets at most maxFailures CONNACK 4, then 5, the right password included', async (t) => {
  const { mqttUrl } = await startTestServer(t, { config: { login: { maxFailures: 10 } } });
  const guess = (i: number) => connackCode(mqttUrl, { username: ALICE.login, password: `guess-${i}`, clientId: `guess-${i}` });
  const burst = [
    ...Array.from({ length: 20 }, (_, i) => guess(i)),
    connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash-right' }),
    ...Array.from({ length: 20 }, (_, i) => guess(20 + i)),
  ];
  const codes = await Promise.all(burst);
  const checked = codes.filter((c) => c === 4 || c === 0).length;
  t.ok(checked <= 10, `${checked} of 41 concurrent CONNECTs had their password checked (4 or 0): at most 10`);
  t.equal(codes.filter((c) => c === 5).length, 41 - checked, 'every other one: CONNACK 5');
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash-after' }), 5, 'after the burst: 5');
});

t.test('past the queue of password checks, an observer gets CONNACK 3 at once', async (t) => {
  const { mqttUrl } = await startTestServer(t, { config: { login: { passwordChecks: 1, passwordCheckQueue: 0 } } });
  const codes = await Promise.all(
    Array.from({ length: 6 }, (_, i) => connackCode(mqttUrl, { username: `nobody-${i}@example.com`, password: 'wrong', clientId: `n-${i}` })),
  );
  t.ok(codes.includes(4), `some were checked: ${codes.join(', ')}`);
  t.ok(codes.includes(3), 'the others: 3 (server unavailable), not counted as a failure');
  t.ok(
    codes.every((c) => c === 3 || c === 4),
    'nothing else',
  );
  t.equal(await connackCode(mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash-after' }), 0, 'a login after them');
});

t.test("an observer client id held by another user's observer is refused with 2; a user may take over its own", async (t) => {
  const { mqttUrl } = await startTestServer(t);
  const alice = (clientId: string, clean = true) => ({ username: ALICE.login, password: ALICE.apiKey, clientId, clean });
  const bob = (clientId: string, clean = true) => ({ username: BOB.login, password: BOB.apiKey, clientId, clean });

  // Connected, clean session.
  const live = await connect(t, mqttUrl, alice('dash-live'));
  let liveClosed = false;
  live.on('close', () => (liveClosed = true));
  t.equal(await connackCode(mqttUrl, bob('dash-live')), 2, "another user with alice's connected client id: 2");
  t.equal(await connackCode(mqttUrl, bob('dash-live', false)), 2, 'also asking for a persistent session: 2');
  // A round trip on alice's connection: a connection closed by the refused CONNECTs would fail it.
  await live.subscribeAsync(`trackers/${TELFM.deviceId}/config/tracking`, { qos: 1 });
  t.notOk(liveClosed, "alice's connection was not closed");
  t.equal(await connackCode(mqttUrl, { ...alice('dash-live'), password: ALICE.password }), 0, 'alice takes over her own client id');
  await closed(live);
  t.pass('(which closes her older connection, as MQTT says)');
  t.equal(await connackCode(mqttUrl, bob('dash-live')), 0, 'once alice has left, a clean client id is free again');

  // A persistent session, stored while alice is offline.
  const persistent = await connect(t, mqttUrl, alice('dash-kept', false));
  await persistent.subscribeAsync('trackers/#', { qos: 1 });
  await persistent.endAsync();
  t.equal(await connackCode(mqttUrl, bob('dash-kept')), 2, "alice's stored session: 2 for bob (clean)");
  t.equal(await connackCode(mqttUrl, bob('dash-kept', false)), 2, "alice's stored session: 2 for bob (persistent)");
  const back = mqtt.connect(mqttUrl, { reconnectPeriod: 0, connectTimeout: 5_000, ...alice('dash-kept', false) });
  t.teardown(() => back.endAsync(true));
  const sessionPresent = await new Promise<boolean>((resolve, reject) => {
    back.once('connect', (packet) => resolve(packet.sessionPresent));
    back.once('error', reject);
  });
  t.ok(sessionPresent, 'alice comes back to her stored session: it was not discarded');
});
