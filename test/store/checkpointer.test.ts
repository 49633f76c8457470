import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RESTART_FRAMES, type CheckpointResult } from '../../src/store/checkpointer.js';
import { openStore } from '../../src/store/index.js';
import { tempDir } from '../helpers/server.js';
import { until } from '../helpers/mqtt.js';

t.test('the service store copies WAL pages on a worker, not in its commits', async (t) => {
  const file = join(tempDir(t), 't.db');
  const results: CheckpointResult[] = [];
  const store = openStore(file, { flushWalOffThread: true, checkpointIntervalMs: 60_000, onCheckpoint: (r) => results.push(r) });
  t.teardown(() => store.close());
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 20_000, 'the committing connection checkpoints by itself only as a backstop');
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

t.test('the worker copies pages on its own timer', async (t) => {
  const file = join(tempDir(t), 't.db');
  const store = openStore(file, { flushWalOffThread: true, checkpointIntervalMs: 20 });
  t.teardown(() => store.close());
  const before = statSync(file).size;
  const model = store.db.prepare("INSERT INTO models (code, tracking_profile, source) VALUES (?, NULL, 'config')");
  for (let i = 0; i < 20; i++) store.transaction(() => model.run(`model-${i}-${'y'.repeat(3000)}`));
  await until(() => statSync(file).size > before, 5000, 'the pages in the database file');
  t.ok(statSync(file).size > before, 'copied without being asked');
});

t.test('once the WAL is long, the service finishes the checkpoint and the WAL restarts', async (t) => {
  const file = join(tempDir(t), 't.db');
  const results: CheckpointResult[] = [];
  const store = openStore(file, { flushWalOffThread: true, checkpointIntervalMs: 20, onCheckpoint: (r) => results.push(r) });
  t.teardown(() => store.close());
  const model = store.db.prepare("INSERT INTO models (code, tracking_profile, source) VALUES (?, NULL, 'config')");
  for (let i = 0; i < 40; i++) {
    store.transaction(() => {
      for (let j = 0; j < 100; j++) model.run(`model-${i}-${j}-${'z'.repeat(3000)}`);
    });
  }
  const framesWritten = statSync(`${file}-wal`).size / 4120;
  t.ok(framesWritten > RESTART_FRAMES, `the WAL holds ${Math.round(framesWritten)} frames`);
  await until(() => results.some((r) => r.tail), 5000, 'the worker asking the service to finish the checkpoint');
  const finished = results.find((r) => r.tail)!;
  t.ok(finished.log! >= RESTART_FRAMES && finished.checkpointed === finished.log, 'the service checkpointed what was left');
  results.length = 0;
  store.transaction(() => model.run('after')); // a write after a complete checkpoint restarts the WAL
  store.checkpointNow();
  await until(() => results.some((r) => r.log !== undefined), 5000, "the worker's report");
  const report = results.find((r) => r.log !== undefined)!;
  t.ok(report.log! < 100, `the WAL restarted from its beginning (${report.log} frames in it now)`);
});

t.test('a CLI store checkpoints the usual way', async (t) => {
  const store = openStore(join(tempDir(t), 'cli.db'));
  t.teardown(() => store.close());
  t.equal(store.db.pragma('wal_autocheckpoint', { simple: true }), 1000);
});

t.test(
  'the checkpoint worker runs at the lowest priority, the rest of the process does not',
  { skip: process.platform !== 'linux' && 'Linux thread priorities' },
  async (t) => {
    const nice = (stat: string) => Number(stat.replace(/^.*\) /, '').split(' ')[16]);
    const lowPriorityThreads = () =>
      readdirSync('/proc/self/task').filter((tid) => {
        try {
          return nice(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')) === 19;
        } catch {
          return false; // the thread ended meanwhile
        }
      });
    const before = new Set(lowPriorityThreads());
    const store = openStore(join(tempDir(t), 'nice.db'), { flushWalOffThread: true });
    t.teardown(() => store.close());
    await until(() => lowPriorityThreads().some((tid) => !before.has(tid)), 5000, 'a new thread at nice 19');
    t.equal(nice(readFileSync('/proc/self/stat', 'utf8')), 0, 'the main thread keeps its priority');
  },
);
