import t from 'tap';
import { runSimulate } from '../helpers/cli.js';
import { ALICE, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { get, login, post, startTestServer } from '../helpers/server.js';

t.test('simulate: trackers apply and acknowledge their config, and read shows applied', async (t) => {
  const { url, server } = await startTestServer(t);
  const hash = await login(url, ALICE);
  t.equal((await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM })).body.success, true);
  const numbers = { tracking_interval: 5, tracking_distance: 2.5, tracking_angle: 30, on_stop_tracking_interval: 60, sleep_mode: 'enabled' };
  t.equal((await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: NUMBERS.trackerId, tracking_settings: numbers })).body.success, true);

  const result = await runSimulate([
    '--url',
    `mqtt://127.0.0.1:${server.ports.mqtt}`,
    '--device',
    `${TELFM.deviceId}:${TELFM.secret}`,
    '--device',
    `${NUMBERS.deviceId}:${NUMBERS.secret}`,
    '--until-applied',
    '--json',
  ]);
  t.equal(result.code, 0, `exit 0 (${result.stderr.trim()})`);
  const applied = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, any>);
  t.same(
    applied.map((a) => [a.event, a.deviceId, a.version]).sort(),
    [
      ['applied', NUMBERS.deviceId, 1],
      ['applied', TELFM.deviceId, 1],
    ].sort(),
    'one applied line per tracker',
  );
  t.same(applied.find((a) => a.deviceId === NUMBERS.deviceId)?.settings, numbers, 'the settings it applied');
  const read = await get(url, 'tracker/settings/tracking/read', { hash, tracker_id: String(TELFM.trackerId) });
  t.equal(read.body.sync.state, 'applied', 'the simulator acknowledged the version');
});

t.test('simulate: wrong arguments and unreachable brokers are reported', async (t) => {
  const bad = await runSimulate(['--device', 'no-secret']);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /--device wants <device_id>:<secret>/);
  const count = await runSimulate(['--count', '99']);
  t.equal(count.code, 1);
  t.match(count.stderr, /--count wants 1 to \d+/);
  const refused = await runSimulate(['--url', 'mqtt://127.0.0.1:1', '--device', 'x:y']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /could not connect to mqtt:\/\/127\.0\.0\.1:1/);
});
