import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { openDatabase } from '../../src/store/db.js';
import { EpochCache, DataVersionFreshness } from '../../src/store/freshness.js';
import { tempDir } from '../helpers/server.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

function setup(t: Test) {
  const file = join(tempDir(t), 'f.db');
  const db = openDatabase(file);
  t.teardown(() => db.close());
  const insert = db.prepare<[string]>("INSERT INTO models (code, tracking_profile, source) VALUES (?, NULL, 'config')");
  return { file, db, insert, freshness: new DataVersionFreshness(db) };
}

t.test('writes the store accounted for keep the epoch', async (t) => {
  const { insert, freshness } = setup(t);
  const epoch = freshness.current();
  freshness.own(insert.run('m1').changes);
  freshness.recheck();
  t.equal(freshness.current(), epoch, 'an own write does not make caches stale');
});

t.test('a write on this connection the store did not account for moves the epoch', async (t) => {
  const { insert, freshness } = setup(t);
  const epoch = freshness.current();
  insert.run('m1');
  t.equal(freshness.current(), epoch, 'checked once per turn: not seen within the turn');
  freshness.recheck();
  t.equal(freshness.current(), epoch + 1, 'seen after recheck()');
  t.equal(freshness.current(), epoch + 1, 'and only once');
});

t.test("another connection's commit moves the epoch from the next turn on", async (t) => {
  const { file, freshness } = setup(t);
  const epoch = freshness.current();
  const other = new Database(file);
  t.teardown(() => other.close());
  other.prepare("INSERT INTO models (code, tracking_profile, source) VALUES ('m2', NULL, 'import')").run();
  t.equal(freshness.current(), epoch, 'the same turn answers from the last check');
  await turn();
  t.equal(freshness.current(), epoch + 1, 'the next turn asks the database');
});

t.test('inside a transaction every call checks again', async (t) => {
  const { db, insert, freshness } = setup(t);
  const epoch = freshness.current();
  db.transaction(() => {
    insert.run('m1');
    t.equal(freshness.current(), epoch + 1);
  })();
});

t.test('EpochCache keeps an entry for its epoch only, and only when asked to', async (t) => {
  const cache = new EpochCache<string, number>(2);
  let loads = 0;
  const load = () => ++loads;
  t.equal(cache.read('a', 1, load, true), 1);
  t.equal(cache.read('a', 1, load, true), 1, 'served from the cache');
  t.equal(cache.read('a', 2, load, true), 2, 'another epoch loads again');
  t.equal(cache.read('b', 2, load, false), 3);
  t.equal(cache.read('b', 2, load, false), 4, 'not kept when keep is false (inside a transaction)');
  t.equal(
    cache.read('c', 2, () => undefined, true),
    undefined,
    'no row: nothing kept',
  );
  cache.set('x', 2, 10);
  cache.set('y', 2, 11); // full (max 2): cleared before adding
  t.equal(cache.get('a', 2), undefined, 'a full cache starts over');
  t.equal(cache.get('y', 2), 11);
  cache.delete('y');
  t.equal(cache.get('y', 2), undefined);
});
