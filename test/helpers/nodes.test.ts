import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runCli } from './cli.js';
import { ALICE, fleetFile, TELFM } from './fleet.js';
import { runNodeUntilExit, startNode } from './nodes.js';
import { get, tempDir } from './server.js';

/** A SQLite file with the test fleet, imported through the real CLI. */
function provisionedDb(t: Test): string {
  const dir = tempDir(t);
  const db = join(dir, 'trackconf.db');
  writeFileSync(join(dir, 'fleet.json'), JSON.stringify(fleetFile()));
  const result = runCli(db, ['import', join(dir, 'fleet.json')]);
  if (result.code !== 0) throw new Error(`import failed: ${result.stderr}`);
  return db;
}

t.test('two nodes on one SQLite file both answer; a SIGKILLed one is seen through `exited`', async (t) => {
  const db = provisionedDb(t);
  const [a, b] = [await startNode(t, { name: 'node-a', env: { TRACKCONF_DB: db } }), await startNode(t, { name: 'node-b', env: { TRACKCONF_DB: db } })];
  t.not(a.httpPort, b.httpPort);
  t.not(a.pid, b.pid);
  for (const node of [a, b]) {
    const health = await fetch(`${node.httpUrl}/health`);
    t.equal(health.status, 200, `${node.name} is ready`);
    await health.arrayBuffer();
    const list = await get(node.httpUrl, 'tracker/list', { hash: ALICE.apiKey });
    t.ok(list.body.success, `${node.name} reads the shared fleet`);
    t.ok(
      (list.body.list as Array<{ id: number }>).some((tracker) => tracker.id === TELFM.trackerId),
      `${node.name} lists tracker ${TELFM.trackerId}`,
    );
    t.match(node.logs(), new RegExp(`"node":"${node.name}".*"msg":"trackconf ready"`), `${node.name} logs under its name`);
    t.equal(node.mqttUrl, `mqtt://127.0.0.1:${node.mqttPort}`);
  }

  a.kill('SIGKILL');
  t.same(await a.exited, { code: null, signal: 'SIGKILL' });
  await t.rejects(fetch(`${a.httpUrl}/health`), 'the killed node no longer answers');
  t.equal((await fetch(`${b.httpUrl}/health`)).status, 200, 'the other node still does');

  t.same(await b.stop(), { code: 0, signal: null }, 'stop: SIGTERM, a clean exit');
});

t.test('a node that cannot start: startNode rejects with its output, runNodeUntilExit returns it', async (t) => {
  const env = { TRACKCONF_DB: join(tempDir(t), 'x.db'), TRACKCONF_LOG_LEVEL: 'loud' };
  await t.rejects(startNode(t, { name: 'bad', env }), /node bad exited \(2\) before it was ready:[\s\S]*logLevel/);
  const result = await runNodeUntilExit(t, { name: 'bad', env });
  t.equal(result.code, 2);
  t.match(result.stderr, /logLevel: /);
});
