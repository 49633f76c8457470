import { join } from 'node:path';
import t, { type Test } from 'tap';
import { openStore, type Store } from '../../src/store/index.js';
import { openPgStore } from '../../src/store/pg/open.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { eventually } from '../helpers/mqtt.js';
import { tempDir } from '../helpers/server.js';

/**
 * The store contract, the same assertions on both backends: SQLite (a file) and PostgreSQL (a real
 * server). `pair` opens two connections to one database, as two processes or two nodes would.
 */
interface Backend {
  readonly name: 'sqlite' | 'postgres';
  pair(t: Test): Promise<[Store, Store]>;
}

let postgres: Promise<PostgresServer> | undefined;

const BACKENDS: readonly Backend[] = [
  {
    name: 'sqlite',
    async pair(t) {
      const file = join(tempDir(t), 'contract.db');
      const stores: [Store, Store] = [openStore(file), openStore(file)];
      t.teardown(() => {
        for (const store of stores) store.close();
      });
      return stores;
    },
  },
  {
    name: 'postgres',
    async pair(test) {
      postgres ??= startPostgres(t); // one server for the file, stopped when its tests end
      const url = await (await postgres).createDatabase();
      const stores: [Store, Store] = [await openPgStore(url), await openPgStore(url)];
      test.teardown(() => {
        for (const store of stores) store.close();
      });
      for (const store of stores) await store.watchOtherNodes(() => undefined);
      return stores;
    },
  },
];

const AT = '2026-12-06T07:00:00.000Z';

function seed(store: Store): { user: number; device: number; tracker: number } {
  return store.transaction(() => {
    store.trackers.upsertModel('telfm', 'telfm', 'config');
    const user = store.users.upsert('Alice', 'hash', null, ['tracker_configure']);
    const device = store.trackers.upsertDevice('dev-1', 'telfm', false, Buffer.from('secret'), '+100');
    const tracker = store.trackers.upsertTrackerRow(null, user, 'Truck', device, null);
    return { user, device, tracker };
  });
}

for (const backend of BACKENDS) {
  t.test(backend.name, async (t) => {
    t.test('users, sessions and API keys; logins case-insensitive', async (t) => {
      const [store] = await backend.pair(t);
      const { user } = seed(store);
      t.equal(store.users.findByLogin('ALICE')?.id, user, 'the login is found whatever its case');
      const sub = store.transaction(() => store.users.upsert('bob', 'h2', user, ['tracker_update']));
      t.equal(store.users.findById(sub)?.master_id, user);
      t.not(sub, user, 'a new user gets a new id');
      const digest = Buffer.from('session-digest');
      store.users.createSession(digest, user, 1000);
      t.same(store.users.findSession(digest), { user_id: user, last_used_at: 1000 });
      store.users.touch(digest, 2000);
      t.equal(store.users.findSession(digest)?.last_used_at, 2000);
      store.users.endSession(digest);
      t.equal(store.users.findSession(digest), undefined, 'an ended session is gone');
      store.users.addApiKey(Buffer.from('key'), user, 1000);
      t.equal(store.users.findApiKeyOwner(Buffer.from('key')), user, 'binary keys round-trip');
    });

    t.test('devices, trackers, bindings and groups', async (t) => {
      const [store] = await backend.pair(t);
      const { user, device, tracker } = seed(store);
      t.equal(tracker, 1, 'a tracker without an id gets the next one');
      const again = store.transaction(() => store.trackers.upsertDevice('dev-1', 'telfm', true, null));
      t.equal(again, device, 'an upsert by device id keeps the row');
      t.equal(store.trackers.findTracker(tracker)?.phone, '+100', 'phone undefined keeps the stored one');
      t.same(store.trackers.blockedDeviceIds(), ['dev-1']);
      store.transaction(() => store.groups.upsertGroup(7, user, 'Vans', 'FF0000'));
      const second = store.transaction(() => store.trackers.upsertTrackerRow(null, user, 'Van', device, tracker, 7));
      t.equal(second, 2);
      t.same(
        store.trackers.listForOwner(user).map((row) => [row.id, row.label]),
        [
          [1, 'Truck'],
          [2, 'Van'],
        ],
      );
      t.same(
        store.trackers.visibleInGroup(user, false, 7).map((row) => row.id),
        [2],
      );
      const sub = store.transaction(() => store.users.upsert('bob', 'h', user, []));
      store.transaction(() => store.trackers.bind(sub, 2));
      t.equal(store.trackers.isBoundTo(sub, 2), true);
      t.equal(store.trackers.isBoundTo(sub, 1), false);
      t.same(store.groups.listForOwner(user), [{ id: 7, owner_id: user, title: 'Vans', color: 'FF0000' }]);
    });

    t.test('versions, sync states, acks, history', async (t) => {
      const [store] = await backend.pair(t);
      const { user, device } = seed(store);
      t.equal(store.settings.sync(device).version, 0, 'no version yet');
      for (const version of [1, 2, 3]) {
        store.transaction(() =>
          store.settings.appendVersion(device, version, JSON.stringify({ tracking_interval: 60 * version }), user, AT, 'update', store.settings.sync(device)),
        );
      }
      const sync = store.settings.sync(device);
      t.match(sync, { version: 3, state: 'pending', changed_at: AT });
      t.equal(store.settings.currentVersion(device), 3);
      t.same(
        store.settings.versionRange(device, 1, 3).map((row) => row.version),
        [3, 2, 1],
        'newest first',
      );
      t.equal(store.settings.versionSettings(device, 2), '{"tracking_interval":120}');
      t.match(store.settings.latestConfig('dev-1'), { device_id: 'dev-1', version: 3, tracking_profile: 'telfm' });
      const moved = await new Promise<string>((resolve) => store.settings.delivered(device, 3, AT, resolve));
      t.equal(moved, AT, 'delivered moves the state once its turn is written');
      t.equal(store.settings.sync(device).state, 'delivered');
      t.equal(store.settings.answered(device, 3, 'applied', null, AT), AT);
      t.equal(store.settings.sync(device).state, 'applied');
      for (let i = 0; i < 5; i++) store.settings.recordAck(device, 3, 'applied', null, false, AT, 3);
      t.same(store.settings.devicesByState(), [{ state: 'applied', count: 1 }], 'counts are numbers');
      const saved = Buffer.from([1, 2, 3]);
      store.transaction(() => store.requests.save(user, 'req-1', saved, '{"ok":true}', 5000));
      const found = store.requests.find(user, 'req-1');
      t.ok(found?.params.equals(saved), 'a binary column comes back as a Buffer');
      t.equal(found?.created_at, 5000);
      store.requests.purge(6000);
      t.equal(store.requests.find(user, 'req-1'), undefined);
    });

    t.test('transactions: a throw rolls back; an inner throw only its savepoint', async (t) => {
      const [store] = await backend.pair(t);
      const { user } = seed(store);
      t.throws(() =>
        store.transaction(() => {
          store.users.upsert('carol', 'h', user, []);
          throw new Error('no');
        }),
      );
      t.equal(store.users.findByLogin('carol'), undefined, 'rolled back');
      store.transaction(() => {
        store.users.upsert('dave', 'h', user, []);
        t.throws(() =>
          store.transaction(() => {
            store.users.upsert('erin', 'h', user, []);
            throw new Error('inner');
          }),
        );
      });
      t.ok(store.users.findByLogin('dave'), 'the outer transaction committed');
      t.equal(store.users.findByLogin('erin'), undefined, 'the inner one did not');
    });

    t.test("another connection's commit is seen through the caches", async (t) => {
      const [a, b] = await backend.pair(t);
      const { user, device, tracker } = seed(a);
      t.equal(a.trackers.findTracker(tracker)?.label, 'Truck', 'read (and cached) by A');
      t.equal(a.settings.sync(device).version, 0);
      b.transaction(() => b.trackers.upsertTrackerRow(tracker, user, 'Renamed', device, null));
      b.transaction(() => b.settings.appendVersion(device, 1, '{}', user, AT));
      await eventually(async () => a.trackers.findTracker(tracker)?.label === 'Renamed', 1_000, 'A to see B’s new label');
      await eventually(async () => a.settings.sync(device).version === 1, 1_000, 'A to see B’s new version');
      t.pass('A sees what B committed');
    });
  });
}

t.test('postgres: a version number another node took first is a retryable conflict', async (t) => {
  const backend = BACKENDS.find((b) => b.name === 'postgres')!;
  const [a, b] = await backend.pair(t);
  const { user, device } = seed(a);
  let caught: unknown;
  try {
    a.transaction(() => {
      const seen = a.settings.sync(device);
      // node B commits version 1 between A's read and A's write
      b.transaction(() => b.settings.appendVersion(device, seen.version + 1, '{"b":1}', user, AT));
      a.settings.appendVersion(device, seen.version + 1, '{"a":1}', user, AT, 'update', seen);
    });
  } catch (err) {
    caught = err;
  }
  t.ok(caught, 'the second writer of version 1 fails');
  t.equal(a.retryable(caught), 'write', 'and that write may run again');
  t.equal(a.settings.versionSettings(device, 1), '{"b":1}', "the first writer's version stands");
  t.equal(a.retryable(new Error('other')), undefined);
});

t.test('postgres: a failed statement swallowed inside a transaction does not commit the rest', async (t) => {
  const backend = BACKENDS.find((b) => b.name === 'postgres')!;
  const [store] = await backend.pair(t);
  const { user } = seed(store);
  t.throws(
    () =>
      store.transaction(() => {
        store.users.upsert('frank', 'h', user, []);
        try {
          store.trackers.upsertTrackerRow(null, 999_999, 'no such owner', 1, null);
        } catch {
          // better-sqlite3 would have kept going; PostgreSQL refuses the transaction's rest
        }
      }),
    { code: '25P02' },
  );
  t.equal(store.users.findByLogin('frank'), undefined, 'nothing of it was committed');
});
