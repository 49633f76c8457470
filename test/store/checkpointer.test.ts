import { statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { CheckpointResult } from '../../src/store/checkpointer.js';
import { openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/server.js';
import { until } from '../helpers/mqtt.js';

t.test('the service store checkpoints on a worker, not in its commits', async (t) => {
  const file = join(tempDir(t), 't.db');
  const results: CheckpointResult[] = [];
  const store = openStore(file, { flushWalOffThread: true, checkpointIntervalMs: 60_000, onCheckpoint: (r) => results.push(r) });
  t.teardown(() => store.close());
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 20_000, 'the committing connection only checkpoints as a backstop');
  const before = statSync(file).size;
  const model = store.db.prepare("INSERT INTO models (code, tracking_profile, source) VALUES (?, NULL, 'config')");
  store.transaction(() => {
    for (let i = 0; i < 3000; i++) model.run(`model-${i}-${'x'.repeat(200)}`);
  });
  t.equal(statSync(file).size, before, 'the commit itself did not copy pages into the database file');
  const frames = statSync(`${file}-wal`).size;
  t.ok(frames > 100_000, 'the pages are in the WAL');
  store.checkpointNow();
  await until(() => results.length > 0, 5000, 'a checkpoint by the worker');
  t.same(results[0]?.error, undefined);
  t.ok(results[0]!.log! > 0 && results[0]!.checkpointed === results[0]!.log, 'every frame copied (PASSIVE, nobody else reading)');
  t.ok(statSync(file).size > before, 'the database file holds the pages now');
  t.equal(store.db.prepare('SELECT count(*) FROM models').pluck().get(), 3000, 'and reads see them');
});

t.test('a CLI store checkpoints the usual way', async (t) => {
  const store = openStore(join(tempDir(t), 'cli.db'));
  t.teardown(() => store.close());
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
});
