/**
 * The guarded patches of src/broker/aedes-internals/ (docs/aedes-internals.md): when what a patch
 * follows changed, a security control stops the start with one line (ConfigError, exit code 2 from
 * the CLI), a performance patch is left out and listed by /health, and the broker still works.
 */
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { FOLLOWED, type Followed } from '../../src/broker/aedes-internals/guard.js';
import { startServer } from '../../src/server.js';
import { fleetFile, TELFM } from '../helpers/fleet.js';
import { connect, trackerOptions } from '../helpers/mqtt.js';
import { freePort, tempDir } from '../helpers/server.js';
import { provision } from '../../src/settings/provisioning.js';
import { join } from 'node:path';

async function configFor(t: Test) {
  return loadConfig(
    {},
    {
      db: join(tempDir(t), 'trackconf.db'),
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { host: '127.0.0.1', port: 0, wsPort: await freePort() },
      logLevel: 'silent',
    },
  );
}

const changed = (file: string): Followed => ({ ...FOLLOWED, files: { ...FOLLOWED.files, [file]: '0000000000000000' } });

for (const [file, control] of [
  ['mqtt-packet/parser.js', 'packet-size-cap'],
  ['aedes/lib/handlers/subscribe.js', 'retained-subscriber'],
  ['aedes-persistence/asyncPersistence.js', 'session-bounds'],
] as const) {
  t.test(`a changed ${file}: the start stops (security control ${control})`, async (t) => {
    const config = await configFor(t);
    const err = await startServer(config, { followed: changed(file) }).then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    t.ok(err instanceof ConfigError, 'a ConfigError (the CLI prints its one line and exits with code 2)');
    t.match(
      (err as Error).message,
      new RegExp(`^MQTT security control ${control} cannot be installed: ${file.replace('.', '\\.')} changed`),
      'saying which control and why',
    );
    t.notMatch((err as Error).message, /\n/, 'one line');
  });
}

t.test('a changed aedes version stops the start', async (t) => {
  const config = await configFor(t);
  const followed = { ...FOLLOWED, packages: { ...FOLLOWED.packages, aedes: '1.2.1' } };
  await t.rejects(startServer(config, { followed }), { name: 'ConfigError', message: /aedes 1\.2\.0 is not 1\.2\.1/ });
});

t.test('changed files of performance patches: left out, listed by /health, the broker still serves', async (t) => {
  const config = await configFor(t);
  const followed = { ...FOLLOWED, files: { ...changed('aedes/lib/handlers/connect.js').files, 'bl/BufferList.js': '0000000000000000' } };
  const server = await startServer(config, { followed });
  t.teardown(() => server.close());
  await provision(server.store, server.profiles, fleetFile());
  const health = await fetch(`http://127.0.0.1:${server.ports.http}/health`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok', degraded: ['lean-connect', 'lean-parser'] }, 'status ok, the degraded patches named');
  t.equal(server.broker.lean, undefined, 'the lean CONNECT is not installed');
  const tracker = await connect(t, `mqtt://127.0.0.1:${server.ports.mqtt}`, trackerOptions(TELFM));
  t.ok(tracker.connected, "a tracker connects through aedes' own CONNECT");
});

t.test('with every patch installed /health says ok only', async (t) => {
  const config = await configFor(t);
  const server = await startServer(config);
  t.teardown(() => server.close());
  const health = await fetch(`http://127.0.0.1:${server.ports.http}/health`);
  t.same(await health.json(), { status: 'ok' });
  t.same(server.broker.degraded, []);
});
