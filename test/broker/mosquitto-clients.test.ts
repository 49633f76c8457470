import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { login, post, startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

/** Runs mosquitto_sub or mosquitto_pub as TELFM (client id = username = device id) with `secret`. */
function asTracker(tool: 'mosquitto_sub' | 'mosquitto_pub', port: number | undefined, secret: string, args: string[]) {
  return run(tool, ['-h', '127.0.0.1', '-p', String(port), '-u', TELFM.deviceId, '-P', secret, '-i', TELFM.deviceId, ...args], { timeout: 15_000 });
}

/** Debian's mosquitto-clients against our broker: the interoperability README and docs promise. */
t.test('mosquitto_sub prints the latest config JSON', async (t) => {
  const { url, server } = await startTestServer(t);
  const hash = await login(url, ALICE);
  t.equal((await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM })).body.success, true);
  t.equal(
    (await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 99 } })).body.success,
    true,
  );
  const topic = `trackers/${TELFM.deviceId}/config/tracking`;
  const { stdout } = await asTracker('mosquitto_sub', server.ports.mqtt, TELFM.secret, ['-t', topic, '-q', '1', '-C', '1', '-W', '10']);
  const config = JSON.parse(stdout.trim()) as Record<string, any>;
  t.equal(config.version, 2, 'the latest version');
  t.same(config.settings, { ...VALID_TELFM, tracking_interval: 99 });
  t.equal(config.profile, 'telfm');

  await asTracker('mosquitto_pub', server.ports.mqtt, TELFM.secret, ['-t', `${topic}/ack`, '-q', '1', '-m', JSON.stringify({ version: 2, status: 'applied' })]);
  const read = await post(url, 'tracker/settings/tracking/read', { hash, tracker_id: TELFM.trackerId });
  t.equal(read.body.sync.state, 'applied', 'an ack sent with mosquitto_pub applies the version');

  const refused = await asTracker('mosquitto_sub', server.ports.mqtt, 'wrong', ['-t', topic, '-C', '1', '-W', '5']).then(
    () => 'connected',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  t.match(refused, /not authori[sz]ed|bad user name or password/i, 'a wrong secret is refused');
});
