/**
 * A start that cannot work (a port taken, a database path that cannot hold a database) stops with
 * one line naming the port or the path and the cause, and exit 2, like an invalid configuration;
 * never a stack trace, never a hang. Tests run as root in CI: the unusable paths fail for root too.
 */
import { createServer, type Server } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

/** A loopback port held by another listener until the test ends. */
async function occupiedPort(t: Test): Promise<number> {
  const holder: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => resolve());
  });
  t.teardown(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as { port: number }).port;
}

/** `serve` on loopback with free ports (0) unless the environment names others. */
function serve(db: string, env: Record<string, string>) {
  return runCli(db, ['serve'], {
    TRACKCONF_HTTP_HOST: '127.0.0.1',
    TRACKCONF_HTTP_PORT: '0',
    TRACKCONF_MQTT_HOST: '127.0.0.1',
    TRACKCONF_MQTT_PORT: '0',
    TRACKCONF_MQTT_WS_PORT: '0',
    TRACKCONF_LOG_LEVEL: 'silent',
    ...env,
  });
}

function oneReadableLine(t: Test, result: ReturnType<typeof runCli>, message: RegExp, what: string): void {
  t.equal(result.code, 2, `${what}: exit 2 (stderr: ${result.stderr.slice(0, 300)})`);
  t.match(result.stderr, message, `${what}: names it and the cause`);
  // Every command that opens the database names it first (README.md#configuration); then the error.
  const lines = result.stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('trackconf: database '));
  t.equal(lines.length, 1, `${what}: one line (besides the database it names), no stack trace`);
  t.notMatch(result.stderr, /\n\s+at /, `${what}: no stack frames`);
}

t.test('a port in use: the HTTP port, the MQTT port', async (t) => {
  const dir = tempDir(t);
  const http = await occupiedPort(t);
  oneReadableLine(
    t,
    serve(join(dir, 'a.db'), { TRACKCONF_HTTP_PORT: String(http) }),
    new RegExp(`TRACKCONF_HTTP_PORT 127\\.0\\.0\\.1:${http}: cannot listen: the port is already in use`),
    'HTTP port in use',
  );
  const mqtt = await occupiedPort(t);
  oneReadableLine(
    t,
    serve(join(dir, 'b.db'), { TRACKCONF_MQTT_PORT: String(mqtt) }),
    new RegExp(`TRACKCONF_MQTT_PORT 127\\.0\\.0\\.1:${mqtt}: cannot listen: the port is already in use`),
    'MQTT port in use',
  );
  // the WebSocket listener's server errors are re-emitted by ws: once uncaught, a stack trace
  const ws = await occupiedPort(t);
  oneReadableLine(
    t,
    serve(join(dir, 'c.db'), { TRACKCONF_MQTT_WS_PORT: String(ws) }),
    new RegExp(`TRACKCONF_MQTT_WS_PORT 127\\.0\\.0\\.1:${ws}: cannot listen: the port is already in use`),
    'WebSocket port in use',
  );
});

t.test('a TRACKCONF_DB that cannot hold a database', async (t) => {
  const dir = tempDir(t);
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a database');
  const cases: Array<[string, string, RegExp]> = [
    ['a folder', folder, /it is a folder/],
    // root ignores permission bits: a path under a regular file fails for every user
    ['a path under a regular file', join(file, 'db', 'trackconf.db'), /ENOTDIR/],
    ['a file that is not a database', file, /not a database/],
    ['a read-only file (/proc)', '/proc/version', /SQLITE_(CANTOPEN|READONLY)/],
    ['a missing folder under /proc (recursive mkdir never returns there)', '/proc/self/trackconf/trackconf.db', /ENOENT/],
  ];
  for (const [what, path, cause] of cases) {
    const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    oneReadableLine(t, serve(path, {}), new RegExp(`TRACKCONF_DB ${escaped}: cannot open the database: .*${cause.source}`), what);
  }
});

t.test('import names an unusable TRACKCONF_DB the same way', async (t) => {
  const dir = tempDir(t);
  const input = join(dir, 'fleet.json');
  writeFileSync(input, JSON.stringify({ users: [{ login: 'a@example.com', password: 'secret-1' }] }));
  const result = runCli(dir, ['import', input]);
  oneReadableLine(t, result, /TRACKCONF_DB .*: cannot open the database: it is a folder/, 'import into a folder');
});
