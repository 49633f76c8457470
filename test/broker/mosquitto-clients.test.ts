import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { login, post, startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

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
  const { stdout } = await run(
    'mosquitto_sub',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.ports.mqtt),
      '-u',
      TELFM.deviceId,
      '-P',
      TELFM.secret,
      '-i',
      TELFM.deviceId,
      '-t',
      topic,
      '-q',
      '1',
      '-C',
      '1',
      '-W',
      '10',
    ],
    { timeout: 15_000 },
  );
  const config = JSON.parse(stdout.trim()) as Record<string, any>;
  t.equal(config.version, 2, 'the latest version');
  t.same(config.settings, { ...VALID_TELFM, tracking_interval: 99 });
  t.equal(config.profile, 'telfm');

  await run(
    'mosquitto_pub',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(server.ports.mqtt),
      '-u',
      TELFM.deviceId,
      '-P',
      TELFM.secret,
      '-i',
      TELFM.deviceId,
      '-t',
      `${topic}/ack`,
      '-q',
      '1',
      '-m',
      JSON.stringify({ version: 2, status: 'applied' }),
    ],
    { timeout: 15_000 },
  );
  const read = await post(url, 'tracker/settings/tracking/read', { hash, tracker_id: TELFM.trackerId });
  t.equal(read.body.sync.state, 'applied', 'an ack sent with mosquitto_pub applies the version');

  const refused = await run(
    'mosquitto_sub',
    ['-h', '127.0.0.1', '-p', String(server.ports.mqtt), '-u', TELFM.deviceId, '-P', 'wrong', '-i', TELFM.deviceId, '-t', topic, '-C', '1', '-W', '5'],
    { timeout: 15_000 },
  ).then(
    () => 'connected',
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  t.match(refused, /not authori[sz]ed|bad user name or password/i, 'a wrong secret is refused');
});
