import { existsSync, fsync as realFsync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { openStore } from '../../src/store/index.js';
import { WalSync, type Fsync } from '../../src/store/wal-sync.js';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { expectError } from '../helpers/http.js';
import { post, startTestServer, tempDir } from '../helpers/server.js';

/** An fsync that waits until the test lets it finish, recording each call. */
function heldFsync() {
  const calls: Array<(err: NodeJS.ErrnoException | null) => void> = [];
  const fsync: Fsync = (_fd, done) => void calls.push(done);
  return { fsync, calls };
}

/** A service store whose WAL flushes the test releases, holding user 1 and device 1 (model telfm). */
function heldStoreWithDevice(t: Test) {
  const { fsync, calls } = heldFsync();
  const store = openStore(join(tempDir(t), 't.db'), { flushWalOffThread: true, fsync });
  t.teardown(() => store.close());
  store.db.exec(`INSERT INTO users (id, login, password_hash, created_at) VALUES (1, 'u', 'x', 'now');
    INSERT INTO models (code, tracking_profile, source) VALUES ('telfm', 'telfm', 'config');
    INSERT INTO devices (id, device_id, model, secret_digest) VALUES (1, 'd1', 'telfm', x'00');`);
  return { store, calls };
}

const state = (promise: Promise<void>) => {
  const seen = { settled: false, error: undefined as Error | undefined };
  promise.then(
    () => (seen.settled = true),
    (err: Error) => {
      seen.settled = true;
      seen.error = err;
    },
  );
  return seen;
};
const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test('nothing written: nothing to wait for', async (t) => {
  const file = join(tempDir(t), 'x-wal');
  writeFileSync(file, '');
  const { fsync, calls } = heldFsync();
  const writes = { count: 0 };
  const wal = new WalSync(file, writes, fsync);
  t.equal(wal.durable(), undefined);
  t.equal(calls.length, 0, 'no flush without a write');
});

t.test('a write waits for one flush; writes during a flush share the next one', async (t) => {
  const file = join(tempDir(t), 'x-wal');
  writeFileSync(file, '');
  const { fsync, calls } = heldFsync();
  const writes = { count: 0 };
  const wal = new WalSync(file, writes, fsync);
  writes.count++;
  const first = state(wal.durable()!);
  const alsoFirst = state(wal.durable()!);
  t.equal(calls.length, 1, 'one flush for both waiters');
  writes.count++;
  writes.count++;
  const second = state(wal.durable()!);
  t.equal(calls.length, 1, 'a second flush waits for the first');
  calls[0]!(null);
  await turn();
  t.ok(first.settled && alsoFirst.settled, 'the first flush settles what was written before it started');
  t.notOk(second.settled, 'writes made during the flush are not covered by it');
  t.equal(calls.length, 2, 'the next flush started at once');
  calls[1]!(null);
  await turn();
  t.ok(second.settled);
  t.equal(wal.durable(), undefined, 'everything is on disk');
});

t.test('a failed flush fails every waiter and every later call', async (t) => {
  const file = join(tempDir(t), 'x-wal');
  writeFileSync(file, '');
  const { fsync, calls } = heldFsync();
  const writes = { count: 0 };
  const wal = new WalSync(file, writes, fsync);
  writes.count++;
  const waiting = state(wal.durable()!);
  calls[0]!(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
  await turn();
  t.match(waiting.error?.message, /fsync of .*x-wal failed: EIO/);
  const later = state(wal.durable()!);
  await turn();
  t.match(later.error?.message, /failed/, 'never promised durable again after a failed flush');
  t.equal(calls.length, 1, 'no flush is trusted after a failure');
});

t.test('a WAL that cannot be opened fails the waiters', async (t) => {
  const writes = { count: 0 };
  const wal = new WalSync(join(tempDir(t), 'missing-wal'), writes, heldFsync().fsync);
  writes.count++;
  await t.rejects(wal.durable()!, /ENOENT/);
});

t.test('close flushes synchronously and settles the waiters', async (t) => {
  const file = join(tempDir(t), 'x-wal');
  writeFileSync(file, '');
  const { fsync, calls } = heldFsync();
  const writes = { count: 0 };
  const wal = new WalSync(file, writes, fsync);
  writes.count++;
  const waiting = state(wal.durable()!);
  writes.count++;
  wal.close();
  await turn();
  t.ok(waiting.settled && !waiting.error, 'settled by the synchronous flush of close()');
  calls[0]!(null); // the thread-pool flush finishing after close closes the file, nothing else
  t.equal(wal.durable(), undefined);
});

t.test('the store: FULL with flushWalOffThread runs SQLite at NORMAL and flushes after its writes', async (t) => {
  const dir = tempDir(t);
  const { fsync, calls } = heldFsync();
  const store = openStore(join(dir, 't.db'), { synchronous: 'FULL', flushWalOffThread: true, fsync });
  t.teardown(() => store.close());
  t.equal(store.db.pragma('synchronous', { simple: true }), 1, 'NORMAL inside SQLite');
  t.ok(existsSync(join(dir, 't.db-wal')));
  t.equal(store.durable(), undefined, 'nothing written yet');
  store.transaction(() => store.trackers.upsertModel('m1', null, 'config'));
  const after = state(store.durable()!);
  t.equal(calls.length, 1);
  calls[0]!(null);
  await turn();
  t.ok(after.settled && !after.error);
  store.settings.delivered(1, 1, new Date().toISOString()); // a deferred write, flushed at the end of the turn
  await turn();
  t.ok(store.durable(), 'the deferred answers written in their own transaction wait for a flush too');
});

t.test('the store: without flushWalOffThread SQLite syncs itself and nothing waits', async (t) => {
  const dir = tempDir(t);
  for (const [options, level] of [
    [{}, 2],
    [{ synchronous: 'NORMAL' as const, flushWalOffThread: true }, 1],
  ] as const) {
    const store = openStore(join(dir, `t${level}.db`), options);
    store.transaction(() => store.trackers.upsertModel('m1', null, 'config'));
    t.equal(store.db.pragma('synchronous', { simple: true }), level);
    t.equal(store.durable(), undefined);
    store.close();
  }
});

t.test('a flush asked for inside a transaction starts after it ends', async (t) => {
  const { store, calls } = heldStoreWithDevice(t);
  let waiting: Promise<void> | undefined;
  store.transaction(() => {
    store.settings.appendVersion(1, 1, '{}', 1, 'now');
    waiting = store.durable();
    t.equal(calls.length, 0, 'no flush while the COMMIT has not written its frames');
  });
  t.ok(waiting);
  await turn();
  t.equal(calls.length, 1, 'the flush starts once the transaction is over');
  calls[0]!(null);
  await waiting;
});

t.test('settingsDurable waits for settings versions only', async (t) => {
  const { store, calls } = heldStoreWithDevice(t);
  store.transaction(() => store.settings.appendVersion(1, 1, '{}', 1, 'now'));
  const settings = store.settingsDurable();
  t.ok(settings, 'a new version waits for its flush');
  calls[0]!(null);
  await settings;
  store.transaction(() => store.settings.answered(1, 1, 'applied', null, 'now'));
  t.equal(store.settingsDurable(), undefined, "a tracker's answer does not make a config wait");
  t.ok(store.durable(), 'but an HTTP answer does');
  calls[1]!(null);
});

t.test('the service after a failed flush: every call answers 1 (no message), /health answers 503 with a reason', async (t) => {
  let failing = false;
  const fsync: Fsync = (fd, done) => (failing ? done(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : realFsync(fd, done));
  const { url } = await startTestServer(t, { fsync });
  const health = async () => {
    const response = await fetch(`${url}/health`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  t.strictSame(await health(), { status: 200, body: { status: 'ok' } }, 'healthy before');
  failing = true;
  const update = await post(url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  expectError(t, update, 'database', undefined, 'the update whose flush failed');
  t.notMatch(JSON.stringify(update.body), /EIO|fsync|wal/i, 'the cause is logged, not answered');
  failing = false; // the disk "recovers": nothing written since the failure can be promised durable
  expectError(t, await post(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId }), 'database', undefined, 'a later read');
  expectError(t, await post(url, 'tracker/list', { hash: ALICE.apiKey }), 'database', undefined, 'any later call');
  const after = await health();
  t.equal(after.status, 503, '/health answers 503 from then on');
  t.equal(after.body.status, 'failing');
  t.match(after.body.reason, /flush failed/, `with a short reason: ${String(after.body.reason)}`);
  t.notMatch(JSON.stringify(after.body), /EIO|\//, 'no path, no driver text');
});
