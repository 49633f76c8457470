import pg from 'pg';
import t from 'tap';
import { numberedPlaceholders } from '../../../src/store/pg/pg-db.js';
import { openPgStore } from '../../../src/store/pg/open.js';
import { PgError, SyncPg } from '../../../src/store/pg/sync-pg.js';
import { eventually } from '../../helpers/mqtt.js';
import { startPostgres } from '../../helpers/postgres.js';

t.test('? placeholders are numbered outside quoted text only', async (t) => {
  t.equal(numberedPlaceholders('SELECT a FROM t WHERE b = ? AND c = ?'), 'SELECT a FROM t WHERE b = $1 AND c = $2');
  t.equal(numberedPlaceholders(`SELECT '?' AS q, "we?ird" FROM t WHERE x = ?`), `SELECT '?' AS q, "we?ird" FROM t WHERE x = $1`);
  t.equal(numberedPlaceholders('SELECT 1'), 'SELECT 1');
});

t.test('a database that cannot be reached is one error at open, not a hang', async (t) => {
  await t.rejects(SyncPg.open('postgres://nobody:x@127.0.0.1:1/none', 'test', 5_000), PgError);
});

t.test('the connection and the change listener come back after the server dropped them', async (t) => {
  const server = await startPostgres(t);
  const url = await server.createDatabase();
  const store = await openPgStore(url);
  t.teardown(() => store.close());
  const warnings: string[] = [];
  await store.watchOtherNodes((message) => warnings.push(message));
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.teardown(() => admin.end());
  store.transaction(() => store.trackers.upsertModel('telfm', 'telfm', 'config'));
  const user = store.transaction(() => store.users.upsert('alice', 'h', null, []));
  const device = store.transaction(() => store.trackers.upsertDevice('dev-1', 'telfm', false, Buffer.from('s')));
  const tracker = store.transaction(() => store.trackers.upsertTrackerRow(null, user, 'one', device, null));
  const label = () => store.trackers.findTracker(tracker)?.label; // a cached read
  t.equal(label(), 'one');

  // the server ends every other connection of the database: the node's and its listener's
  await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  await eventually(async () => warnings.some((w) => w.startsWith('database change listener lost')), 5_000, 'the listener to notice');
  // the dropped connection was noticed while idle: the next statement connects again
  t.equal(store.users.findByLogin('alice')?.id, user, 'the next statement is answered');

  // while the listener is away nothing is cached: a change by another connection is seen at once
  await admin.query(`UPDATE trackers SET label = 'two' WHERE id = $1`, [tracker]);
  t.equal(label(), 'two');
  // and once it is back, other connections' commits still reach the caches
  await eventually(async () => store.failure() === undefined && warnings.length >= 1, 5_000);
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // the listener retries every second
  t.equal(label(), 'two'); // cached now
  await admin.query(`UPDATE trackers SET label = 'three' WHERE id = $1`, [tracker]);
  await eventually(async () => label() === 'three', 2_000, 'the cache to drop the old row');
  t.pass('a commit elsewhere reached the cache after the listener came back');
});
