/**
 * The CLI on PostgreSQL (docs/scaling.md): TRACKCONF_DATABASE_URL names the database for `import`,
 * `demo` and `serve` (and wins over TRACKCONF_DB), `backup` points at pg_dump, a second import
 * migrates nothing. One PostgreSQL server for the file, a fresh database per test.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import tap, { type Test } from 'tap';
import { runCli, runSimulate } from '../helpers/cli.js';
import { fleetFile } from '../helpers/fleet.js';
import { startNode } from '../helpers/nodes.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { get, tempDir } from '../helpers/server.js';
import { DEMO_DEVICES, DEMO_USER } from '../../src/cli/demo-data.js';

let postgres: Promise<PostgresServer> | undefined;
const freshDatabase = async () => {
  postgres ??= startPostgres(tap as unknown as Test);
  return (await postgres).createDatabase();
};

/** Rows of one query on the database at `url`. */
async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The CLI with TRACKCONF_DATABASE_URL, and a TRACKCONF_DB path in a temp folder that must stay unused. */
function cliOn(t: Test, url: string) {
  const sqlite = join(tempDir(t), 'never.db');
  const run = (...args: string[]) => runCli(sqlite, args, { TRACKCONF_DATABASE_URL: url, TRACKCONF_HTTP_PORT: '18080', TRACKCONF_MQTT_PORT: '11883' });
  return { sqlite, run };
}

const counts = (url: string) =>
  query<{ users: string; trackers: string; versions: string }>(
    url,
    'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM trackers) AS trackers, (SELECT count(*) FROM settings_versions) AS versions',
  );

tap.test('import on PostgreSQL: the data lands there, TRACKCONF_DB is not created; a second import migrates nothing and keeps data', async (t) => {
  const url = await freshDatabase();
  const { sqlite, run } = cliOn(t, url);
  const file = join(tempDir(t), 'fleet.json');
  writeFileSync(file, JSON.stringify(fleetFile()));

  const first = run('import', file);
  t.equal(first.code, 0, first.stderr);
  t.match(
    first.stderr,
    /^trackconf: database postgres:\/\/trackconf:\*\*\*@127\.0\.0\.1:\d+\/trackconf_\d+ \(PostgreSQL\)\n$/,
    'names the database, password hidden',
  );
  t.notMatch(first.stderr + first.stdout, /:[0-9a-f]{24}@/, 'the password is never printed');
  const report = JSON.parse(first.stdout) as { trackers: { id: number; created: boolean }[] };
  t.ok(
    report.trackers.every((tracker) => tracker.created),
    'every tracker created',
  );
  t.notOk(existsSync(sqlite), 'TRACKCONF_DATABASE_URL wins: no SQLite file at TRACKCONF_DB');
  t.same(await counts(url), [{ users: '4', trackers: String(fleetFile().trackers.length), versions: '0' }], 'the fleet is in PostgreSQL');

  // data written between the imports (the demo adds versions) must survive the second import
  t.equal(run('demo', '--json').code, 0, 'demo');
  const [schema] = await query<{ version: number; xmin: string }>(url, 'SELECT version, xmin::text FROM trackconf_schema');
  const before = await counts(url);
  const again = run('import', file);
  t.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout) as typeof report;
  t.ok(
    second.trackers.every((tracker) => !tracker.created),
    'nothing created again',
  );
  t.same(await query(url, 'SELECT version, xmin::text FROM trackconf_schema'), [schema], 'the schema row untouched: no migration ran');
  t.same(await counts(url), before, 'users, trackers and versions kept');
  t.notOk(existsSync(sqlite), 'still no SQLite file');
});

tap.test('demo on PostgreSQL seeds idempotently; its credentials work on a serve node of that database', async (t) => {
  const url = await freshDatabase();
  const { sqlite, run } = cliOn(t, url);
  const first = run('demo', '--json');
  t.equal(first.code, 0, first.stderr);
  const one = JSON.parse(first.stdout) as { hash: string; trackers: { id: number; settings_version: number }[] };
  t.same(
    one.trackers.map((tracker) => [tracker.id, tracker.settings_version]),
    DEMO_DEVICES.map((device) => [device.trackerId, 1]),
    'each demo tracker at version 1',
  );
  const versions = (await counts(url))[0]!.versions;
  const second = run('demo', '--json');
  t.equal(second.code, 0, second.stderr);
  t.equal((await counts(url))[0]!.versions, versions, 'no version added by the second run');
  t.notOk(existsSync(sqlite), 'no SQLite file');

  const node = await startNode(t, { name: 'demo', env: { TRACKCONF_DATABASE_URL: url, TRACKCONF_DB: sqlite, TRACKCONF_LOG_LEVEL: 'warn' } });
  for (const hash of [one.hash, DEMO_USER.apiKey]) {
    const list = await get(node.httpUrl, 'tracker/list', { hash });
    t.equal(list.body.success, true, 'a printed credential works on the node');
  }
  t.notOk(existsSync(sqlite), 'serve did not create the SQLite file either');
});

tap.test('simulate against a node on PostgreSQL: the demo trackers apply their config, read shows applied', async (t) => {
  const url = await freshDatabase();
  const { run } = cliOn(t, url);
  t.equal(run('demo', '--json').code, 0, 'demo');
  const node = await startNode(t, { name: 'sim', env: { TRACKCONF_DATABASE_URL: url, TRACKCONF_LOG_LEVEL: 'warn' } });
  const result = await runSimulate(['--url', node.mqttUrl, '--count', String(DEMO_DEVICES.length), '--until-applied', '--json']);
  t.equal(result.code, 0, `exit 0 (${result.stderr.trim()})`);
  const applied = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { deviceId: string; version: number });
  t.same(applied.map((a) => [a.deviceId, a.version]).sort(), DEMO_DEVICES.map((d) => [d.deviceId, 1]).sort(), 'each demo tracker applied version 1');
  for (const device of DEMO_DEVICES) {
    const read = await get(node.httpUrl, 'tracker/settings/tracking/read', { hash: DEMO_USER.apiKey, tracker_id: String(device.trackerId) });
    t.equal(read.body.sync?.state, 'applied', `tracker ${device.trackerId} applied, as stored in PostgreSQL`);
  }
});

tap.test('backup on PostgreSQL: one line pointing at pg_dump, exit 2, no file written', async (t) => {
  const url = await freshDatabase();
  const { run } = cliOn(t, url);
  const target = join(tempDir(t), 'backup.db');
  const result = run('backup', target);
  t.equal(result.code, 2, 'exit 2');
  t.equal(result.stdout, '', 'nothing on stdout');
  const lines = result.stderr.trimEnd().split('\n');
  t.equal(lines.length, 1, `one line: ${result.stderr}`);
  t.match(lines[0], /pg_dump/, 'saying to use pg_dump');
  t.notOk(existsSync(target), 'no backup file');
  t.same(await query(url, "SELECT 1 FROM pg_tables WHERE tablename = 'trackconf_schema'"), [], 'the database not even opened');
});
