import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { openStore } from '../../src/store/index.js';
import { Writes } from '../../src/store/writes.js';
import { tempDir } from '../helpers/server.js';

/**
 * Every modifying statement the repositories prepare must run through `Writes` (the count the WAL
 * gate waits for, docs/reliability.md). The test watches every statement the store prepares: a
 * modifying one run outside `Writes` is a bypass, and every modifying one must be exercised here, so
 * a new write method fails this test until it is added below (and then fails if it bypasses).
 */
t.test('every repository write goes through Writes', async (t) => {
  const modifying = new Map<string, number>();
  const bypasses: string[] = [];
  let inWrites = 0;

  const prepare = Database.prototype.prepare;
  const run = Writes.prototype.run;
  const get = Writes.prototype.get;
  t.teardown(() => {
    Database.prototype.prepare = prepare;
    Writes.prototype.run = run;
    Writes.prototype.get = get;
  });
  /** `method` with every call counted as inside Writes while it runs. */
  const inside = <A extends unknown[], R>(method: (this: Writes, ...args: A) => R) =>
    function (this: Writes, ...args: A): R {
      inWrites++;
      try {
        return method.apply(this, args);
      } finally {
        inWrites--;
      }
    };
  Writes.prototype.run = inside(run) as typeof run;
  Writes.prototype.get = inside(get) as typeof get;
  Database.prototype.prepare = function (this: Database.Database, source: string, ...rest: unknown[]) {
    const statement = (prepare as (...a: unknown[]) => Database.Statement<unknown[]>).call(this, source, ...rest);
    if (statement.readonly || /^\s*PRAGMA/i.test(source)) return statement;
    const sql = source.replace(/\s+/g, ' ').trim();
    modifying.set(sql, modifying.get(sql) ?? 0);
    for (const method of ['run', 'get', 'all', 'iterate'] as const) {
      const original = statement[method].bind(statement) as (...a: unknown[]) => unknown;
      (statement as unknown as Record<string, unknown>)[method] = (...params: unknown[]) => {
        if (inWrites === 0) bypasses.push(sql);
        modifying.set(sql, (modifying.get(sql) ?? 0) + 1);
        return original(...params);
      };
    }
    return statement;
  } as typeof prepare;

  const store = openStore(join(tempDir(t), 'w.db'));
  t.teardown(() => store.close());
  const now = new Date().toISOString();
  const digest = Buffer.alloc(32, 1);

  store.transaction(() => {
    const owner = store.users.upsert('owner', 'hash', null, ['x']);
    store.users.upsert('owner', 'hash2', null, ['x']);
    const sub = store.users.upsert('sub', 'hash', owner, []);
    store.users.createSession(digest, owner, 1);
    store.users.touch(digest, 2);
    store.users.endSession(digest);
    store.users.addApiKey(digest, owner, 3);
    store.trackers.upsertModel('m1', null, 'config');
    const device = store.trackers.upsertDevice('d1', 'm1', false, Buffer.alloc(32));
    store.trackers.upsertDevice('d1', 'm1', true, null);
    const tracker = store.trackers.upsertTrackerRow(null, owner, 'one', device, null);
    store.trackers.upsertTrackerRow(null, owner, 'clone', device, tracker);
    store.trackers.bind(sub, tracker);
    store.provisioning.moveClones(tracker, device);
    store.settings.appendVersion(device, 1, '{}', owner, now);
    store.settings.answered(device, 1, 'applied', null, now);
    store.settings.recordAck(device, 1, 'applied', null, false, now);
    store.settings.recordAck(device, 1, 'applied', null, true, now, 1);
    store.settings.reported(device, '{}', now);
    store.groups.upsertGroup(7, owner, 'group', '1E96DC');
    store.requests.save(owner, 'request-1', Buffer.alloc(32), '{"success":true}', 1);
    store.requests.purge(2);
  });
  store.settings.delivered(1, 1, now);
  store.settings.flushPending();

  t.same(bypasses, [], 'no modifying statement ran outside Writes');
  const unexercised = [...modifying].filter(([, runs]) => runs === 0).map(([sql]) => sql);
  t.same(unexercised, [], 'every modifying statement the store prepares is exercised by this test');
  t.ok(modifying.size >= 15, `the statements were seen (${modifying.size})`);
});

t.test('Writes counts each statement before it runs', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE x (a INTEGER PRIMARY KEY)');
  const writes = new Writes();
  writes.run(db.prepare<[number]>('INSERT INTO x (a) VALUES (?)'), 1);
  t.equal(writes.count, 1);
  t.equal(writes.get(db.prepare<[number], { a: number }>('INSERT INTO x (a) VALUES (?) RETURNING a'), 2)?.a, 2);
  t.equal(writes.count, 2);
  t.throws(() => writes.run(db.prepare<[number]>('INSERT INTO x (a) VALUES (?)'), 1), /UNIQUE/);
  t.equal(writes.count, 3, 'a failed write still counts (it costs a flush at most)');
});
