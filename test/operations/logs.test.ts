import { join } from 'node:path';
import t, { type Test } from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { provision } from '../../src/settings/provisioning.js';
import { ALICE, TELFM, VALID_TELFM, fleetFile } from '../helpers/fleet.js';
import { connect, trackerOptions, until } from '../helpers/mqtt.js';
import { freePort, post, tempDir } from '../helpers/server.js';

const configTopic = `trackers/${TELFM.deviceId}/config/tracking`;

type Line = Record<string, unknown> & { msg?: string; level: number };

/** A service whose log lines are captured (parsed) instead of written to stdout. */
async function logged(t: Test, extra: Record<string, unknown> = {}) {
  const lines: Line[] = [];
  const text: string[] = [];
  const config = loadConfig(
    {},
    {
      db: join(tempDir(t), 't.db'),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort() },
      logLevel: 'debug',
      nodeId: 'node-7',
      ...extra,
    },
  );
  const server = await startServer(config, {
    logDestination: {
      write(line: string) {
        text.push(line);
        lines.push(JSON.parse(line) as Line);
      },
    },
  });
  t.teardown(() => server.close());
  await provision(server.store, server.profiles, fleetFile());
  return { server, lines, text, url: `http://127.0.0.1:${server.ports.http}`, mqttUrl: `mqtt://127.0.0.1:${server.ports.mqtt}` };
}

t.test('an accepted update and each sync state change log one info line, with the node, never a credential', async (t) => {
  const { lines, text, url, mqttUrl } = await logged(t);
  const hash = (await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password })).body.hash as string;
  const update = await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  t.equal(update.body.success, true);
  const accepted = lines.filter((l) => l.msg === 'settings update accepted');
  t.equal(accepted.length, 1, 'one line per accepted update');
  t.match(accepted[0], { level: 30, node: 'node-7', tracker: TELFM.trackerId, device: TELFM.deviceId, version: 1, login: ALICE.login });
  t.type(accepted[0]!.user, 'number', 'the author user id');

  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  await tracker.subscribeAsync(configTopic, { qos: 1 });
  const changes = () => lines.filter((l) => l.msg === 'tracker sync state changed');
  await until(() => changes().length === 1, 10_000, 'delivered line');
  await tracker.publishAsync(`${configTopic}/ack`, JSON.stringify({ version: 1, status: 'rejected', reason: 'unsupported interval' }), { qos: 1 });
  await until(() => changes().length === 2, 10_000, 'rejected line');
  t.match(changes()[0], { level: 30, node: 'node-7', device: TELFM.deviceId, version: 1, state: 'delivered' });
  t.match(changes()[1], { level: 30, node: 'node-7', device: TELFM.deviceId, version: 1, state: 'rejected', reason: 'unsupported interval' });
  t.ok(
    lines.some((l) => l.msg === 'tracker connected' && l.level === 20 && l.device === TELFM.deviceId),
    'connect at debug',
  );
  await tracker.endAsync();
  await until(() => lines.some((l) => l.msg === 'tracker disconnected'), 10_000, 'disconnect line');
  t.equal(lines.find((l) => l.msg === 'tracker disconnected')!.level, 20, 'disconnect at debug');

  t.ok(
    lines.every((l) => l.node === 'node-7'),
    'every line carries node',
  );
  const all = text.join('');
  for (const secret of [hash, ALICE.password, ALICE.apiKey, TELFM.secret]) t.notOk(all.includes(secret), 'no credential in the log');
  t.notOk(
    lines.some((l) => l.msg === 'request completed' || l.msg === 'incoming request'),
    'request logs off by default',
  );
});

t.test('http.logRequests: one line per request, on the hot calls too; the node defaults to host name and pid', async (t) => {
  const { lines, text, url } = await logged(t, { http: { host: '127.0.0.1', port: 0, logRequests: true }, nodeId: null, logLevel: 'info' });
  await post(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId });
  await until(() => lines.some((l) => l.msg === 'request completed'), 5_000, 'request line');
  const request = lines.find((l) => l.msg === 'incoming request') as { req?: { url?: string } } | undefined;
  t.equal(request?.req?.url, '/tracker/settings/tracking/read');
  t.notOk(text.join('').includes(ALICE.apiKey), 'the credential in the body is not logged');
  t.match(lines[0]!.node, new RegExp(`:${process.pid}$`), 'host name and pid');
});
