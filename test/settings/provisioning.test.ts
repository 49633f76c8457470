import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { digestMatches, verifyPassword } from '../../src/auth/crypto.js';
import { loadConfig } from '../../src/config/load.js';
import { loadProfiles, type ProfileRegistry } from '../../src/profiles/index.js';
import { openSqliteCore } from '../../src/server.js';
import { AuthService } from '../../src/settings/auth-service.js';
import { provision, ProvisioningError, type ProvisionReport } from '../../src/settings/provisioning.js';
import { openStore, type Store } from '../../src/store/index.js';

const DOCS_EXAMPLE = {
  models: [
    { code: 'panic_button', tracking_profile: null },
    { code: 'fmb920', tracking_profile: 'telfm' },
  ],
  users: [
    { login: 'alice@example.com', password: 'secret-1', api_keys: ['0123456789abcdef0123456789abcdef'] },
    { login: 'bob@example.com', password: 'secret-2' },
  ],
  subusers: [
    {
      login: 'carol@example.com',
      password: 'secret-3',
      master: 'alice@example.com',
      rights: ['tracker_configure'],
      trackers: [1001],
    },
  ],
  trackers: [
    {
      id: 1001,
      owner: 'alice@example.com',
      label: 'Truck 1',
      model: 'telfm',
      device_id: '356307042441013',
      device_secret: 's3cret-device-token',
      blocked: false,
    },
    { id: 1002, owner: 'bob@example.com', label: 'Truck 1 (shared)', clone_of: 1001 },
  ],
};

interface Core {
  store: Store;
  profiles: ProfileRegistry;
  file: string;
}

function open(t: Test): Core {
  const dir = t.testdir();
  const file = join(dir, 't.db');
  const { store, profiles } = openSqliteCore(loadConfig({ TRACKCONF_DB: file }));
  t.teardown(() => store.close());
  return { store, profiles, file };
}

/** Every row of every table, blobs as hex: equal dumps = the database did not change. */
function dump(store: Store): Record<string, unknown[]> {
  const tables = store.db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);
  const out: Record<string, unknown[]> = {};
  for (const table of tables) {
    out[table] = store.db
      .prepare(`SELECT * FROM "${table}" ORDER BY 1, 2`)
      .all()
      .map((row) => Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v])));
  }
  return out;
}

async function rejects(t: Test, core: Core, file: unknown, ...expected: (string | RegExp)[]): Promise<ProvisioningError> {
  const before = dump(core.store);
  let error: unknown;
  try {
    await provision(core.store, core.profiles, file);
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof ProvisioningError, 'throws ProvisioningError');
  const err = error as ProvisioningError;
  for (const text of expected) {
    if (typeof text === 'string') t.ok(err.message.includes(text), `message names: ${text}\n${err.message}`);
    else t.match(err.message, text);
  }
  t.same(dump(core.store), before, 'database unchanged');
  return err;
}

const auth = (store: Store) => new AuthService(store, { sessionIdleMs: 1e9, maxLoginFailures: 10, loginWindowMs: 1e6 });

t.test('the example of docs/provisioning.md imports; the report carries generated ids, secrets and keys', async (t) => {
  const core = open(t);
  const { store } = core;
  const report = await provision(store, core.profiles, DOCS_EXAMPLE);

  t.same(report.models, DOCS_EXAMPLE.models);
  t.equal(report.users.length, 2);
  const [alice, bob] = report.users as [ProvisionReport['users'][number], ProvisionReport['users'][number]];
  t.match(alice, { login: 'alice@example.com', created: true });
  t.notOk('api_keys' in alice, 'alice listed a key: none generated');
  t.match(bob, { login: 'bob@example.com', created: true });
  t.equal(bob.api_keys?.length, 1, 'bob gets one generated key');
  t.match(bob.api_keys?.[0], /^[0-9a-f]{32}$/);
  t.match(report.subusers, [{ login: 'carol@example.com', created: true }]);
  t.same(report.trackers, [
    { id: 1001, device_id: '356307042441013', device_secret: 's3cret-device-token', secret: 'given', created: true },
    { id: 1002, device_id: '356307042441013', clone_of: 1001, created: true },
  ]);

  // users, passwords, keys
  const aliceRow = store.users.findByLogin('alice@example.com')!;
  t.equal(aliceRow.id, alice.id);
  t.equal(aliceRow.master_id, null);
  t.ok(await verifyPassword('secret-1', aliceRow.password_hash));
  t.equal(auth(store).authenticate('0123456789abcdef0123456789abcdef').userId, alice.id);
  t.equal(auth(store).authenticate(bob.api_keys![0]!).userId, bob.id);
  const carol = store.users.findByLogin('carol@example.com')!;
  t.equal(carol.master_id, alice.id);
  t.same(JSON.parse(carol.rights), ['tracker_configure']);
  t.ok(await verifyPassword('secret-3', carol.password_hash));
  t.ok(store.trackers.isBoundTo(carol.id, 1001));
  t.notOk(store.trackers.isBoundTo(carol.id, 1002));
  t.equal(
    await auth(store)
      .login('carol@example.com', 'secret-3')
      .then((h) => h.length),
    32,
  );

  // models, devices, trackers
  t.same(store.trackers.findModel('panic_button'), { code: 'panic_button', tracking_profile: null });
  t.same(store.trackers.findModel('fmb920'), { code: 'fmb920', tracking_profile: 'telfm' });
  const t1 = store.trackers.findTracker(1001)!;
  t.match(t1, { owner_id: alice.id, label: 'Truck 1', clone_of: null, model: 'telfm', blocked: 0, tracking_profile: 'telfm' });
  const t2 = store.trackers.findTracker(1002)!;
  t.match(t2, { owner_id: bob.id, label: 'Truck 1 (shared)', clone_of: 1001, device: t1.device });
  const device = store.trackers.findDevice('356307042441013')!;
  t.ok(digestMatches('s3cret-device-token', device.secret_digest), 'the device secret is stored as its digest');
  t.equal(store.settings.sync(t1.device).version, 0, 'import creates no settings version');
});

t.test('secrets are stored only as digests: no plain secret in the database file', async (t) => {
  const core = open(t);
  const file = {
    ...DOCS_EXAMPLE,
    trackers: [...DOCS_EXAMPLE.trackers, { owner: 'bob@example.com', model: 'gl200', device_id: '356307042441099' }],
  };
  const report = await provision(core.store, core.profiles, file);
  const generatedSecret = report.trackers[2]!.device_secret!;
  const generatedKey = report.users[1]!.api_keys![0]!;
  t.match(generatedSecret, /^[A-Za-z0-9_-]{32}$/);
  core.store.close();
  const bytes = Buffer.concat([core.file, `${core.file}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  t.ok(bytes.includes('356307042441013'), 'sanity: the file holds plain data');
  for (const secret of ['s3cret-device-token', generatedSecret, '0123456789abcdef0123456789abcdef', generatedKey, 'secret-1', 'secret-2', 'secret-3']) {
    t.notOk(bytes.includes(secret), `${secret} not in the database file`);
  }
});

t.test('re-importing the same file changes nothing', async (t) => {
  const core = open(t);
  const file = {
    ...DOCS_EXAMPLE,
    trackers: [
      ...DOCS_EXAMPLE.trackers,
      // no id, no secret: generated once, then found again by owner + device
      { owner: 'bob@example.com', label: 'Van', model: 'gl200', device_id: '356307042441099' },
      // a clone without id: found again as bob's clone of 1001... owner alice clones bob's van
      { owner: 'alice@example.com', clone_of: 1003 },
      { id: 1003, owner: 'bob@example.com', model: 'fmb920', device_id: 'dev-1003', blocked: true },
    ],
  };
  const first = await provision(core.store, core.profiles, file);
  const generated = first.trackers[2]!;
  t.equal(generated.created, true);
  t.equal(generated.secret, 'generated');
  t.ok(generated.device_secret);
  t.ok(generated.id > 0);
  t.match(first.trackers[3], { clone_of: 1003, device_id: 'dev-1003', created: true });
  t.match(first.trackers[4], { id: 1003, device_id: 'dev-1003', created: true, secret: 'generated' });
  t.equal(core.store.trackers.findTracker(1003)!.label, 'dev-1003', 'label defaults to the device id');
  t.equal(core.store.trackers.findTracker(first.trackers[3]!.id)!.label, 'dev-1003', 'a clone defaults to its target label');
  t.equal(core.store.trackers.findTracker(first.trackers[3]!.id)!.blocked, 1, 'blocked belongs to the device');

  const before = dump(core.store);
  const second = await provision(core.store, core.profiles, file);
  t.same(dump(core.store), before, 'every table is unchanged');
  t.same(
    second.trackers.map((r) => r.id),
    first.trackers.map((r) => r.id),
    'same tracker ids',
  );
  t.ok(
    second.users.every((u) => !u.created && u.api_keys === undefined),
    'no user created, no key generated',
  );
  t.ok(second.subusers.every((u) => !u.created));
  t.ok(second.trackers.every((r) => !r.created));
  t.same(second.trackers[2], { id: generated.id, device_id: '356307042441099', secret: 'unchanged', created: false });
  t.equal(second.trackers[0]!.device_secret, 's3cret-device-token', 'a given secret is reported');
  t.same(
    second.users.map((u) => u.id),
    first.users.map((u) => u.id),
  );
});

t.test('upserts: passwords change, keys and bindings are added, never removed', async (t) => {
  const core = open(t);
  const first = await provision(core.store, core.profiles, DOCS_EXAMPLE);
  const newKey = 'fedcba9876543210fedcba9876543210';
  const report = await provision(core.store, core.profiles, {
    users: [{ login: 'ALICE@example.com', password: 'changed', api_keys: [newKey] }],
    trackers: [
      { id: 1004, owner: 'alice@example.com', model: 'telfm', device_id: 'dev-4' },
      { id: 1001, owner: 'alice@example.com', label: 'Truck 1 renamed', model: 'fmb920', device_id: '356307042441013' },
    ],
    subusers: [{ login: 'carol@example.com', password: 'secret-3', master: 'alice@example.com', trackers: [1004] }],
  });
  t.match(report.users, [{ login: 'alice@example.com', id: first.users[0]!.id, created: false }]);
  t.notOk(report.users[0]!.api_keys);
  const alice = core.store.users.findByLogin('alice@example.com')!;
  t.ok(await verifyPassword('changed', alice.password_hash));
  t.equal(auth(core.store).authenticate(newKey).userId, alice.id);
  t.equal(auth(core.store).authenticate('0123456789abcdef0123456789abcdef').userId, alice.id, 'old key kept');
  const carol = core.store.users.findByLogin('carol@example.com')!;
  t.ok(core.store.trackers.isBoundTo(carol.id, 1001), 'old binding kept');
  t.ok(core.store.trackers.isBoundTo(carol.id, 1004), 'new binding added');
  t.same(JSON.parse(carol.rights), ['tracker_configure'], 'rights kept when omitted');
  t.match(core.store.trackers.findTracker(1001), { label: 'Truck 1 renamed', model: 'fmb920' });
  t.match(report.trackers[1], { id: 1001, secret: 'unchanged', created: false });
  t.ok(digestMatches('s3cret-device-token', core.store.trackers.findDevice('356307042441013')!.secret_digest), 'secret kept');
  t.match(core.store.trackers.findTracker(1002), { clone_of: 1001, model: 'fmb920' }, 'the clone follows its device');
});

t.test('a model without a tracking profile is fine', async (t) => {
  const core = open(t);
  const report = await provision(core.store, core.profiles, {
    models: [{ code: 'panic_button', tracking_profile: null }],
    users: [{ login: 'u@example.com', password: 'pw' }],
    trackers: [{ id: 7, owner: 'u@example.com', model: 'panic_button', device_id: 'panic-1' }],
  });
  t.equal(report.trackers[0]!.id, 7);
  t.match(core.store.trackers.findTracker(7), { model: 'panic_button', tracking_profile: null });
});

t.test('a moved tracker takes its clones along', async (t) => {
  const core = open(t);
  await provision(core.store, core.profiles, DOCS_EXAMPLE);
  await provision(core.store, core.profiles, {
    trackers: [{ id: 1001, owner: 'alice@example.com', model: 'telfm', device_id: 'replacement-1' }],
  });
  const t1 = core.store.trackers.findTracker(1001)!;
  t.equal(t1.device_id, 'replacement-1');
  t.equal(core.store.trackers.findTracker(1002)!.device, t1.device);
});

t.test('rejections name the entry and change nothing', async (t) => {
  const core = open(t);
  await provision(core.store, core.profiles, DOCS_EXAMPLE);
  const alice = { login: 'alice@example.com', password: 'secret-1' };

  await rejects(t, core, { trackers: [{ id: 1002, owner: 'bob@example.com', clone_of: 1005 }] }, 'trackers[0] (id 1002): clone_of 1005 is not a known tracker');
  await rejects(
    t,
    core,
    {
      users: [alice],
      trackers: [
        { id: 1, owner: 'alice@example.com', model: 'telfm', device_id: 'a' },
        { id: 1002, owner: 'bob@example.com', clone_of: 1005 },
      ],
    },
    'trackers[1] (id 1002): clone_of 1005 is not a known tracker',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'nobody@example.com', model: 'telfm', device_id: 'd5' }] },
    'trackers[0] (id 5): owner nobody@example.com is not a known user',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'alice@example.com', model: 'no_such_model', device_id: 'd5' }] },
    'trackers[0] (id 5): model "no_such_model" is not a known model',
  );
  await rejects(t, core, { trackers: [{ id: 5, owner: 'alice@example.com', clone_of: 1002 }] }, 'trackers[0] (id 5): clone_of 1002 is itself a clone');
  await rejects(
    t,
    core,
    {
      trackers: [
        { id: 6, owner: 'alice@example.com', clone_of: 1001 },
        { id: 7, owner: 'bob@example.com', clone_of: 6 },
      ],
    },
    'trackers[1] (id 7): clone_of 6 is itself a clone',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'alice@example.com', model: 'telfm', device_id: 'd5', clone_of: 1001 }] },
    "trackers[0] (id 5): a clone (clone_of) shares its target's device and takes no model, device_id",
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'alice@example.com' }] },
    'trackers[0] (id 5): model is required',
    'trackers[0] (id 5): device_id is required',
  );
  for (const bad of ['a/b', 'x+', 'dev#1', 'with space', '', 'x'.repeat(65)]) {
    await rejects(
      t,
      core,
      { trackers: [{ id: 5, owner: 'alice@example.com', model: 'telfm', device_id: bad }] },
      'trackers[0] (id 5): device_id must be 1 to 64 characters',
    );
  }
  await rejects(
    t,
    core,
    {
      trackers: [
        { id: 5, owner: 'alice@example.com', model: 'telfm', device_id: 'd5' },
        { id: 5, owner: 'alice@example.com', model: 'telfm', device_id: 'd6' },
      ],
    },
    'trackers[1] (id 5): id 5 listed twice (also trackers[0])',
  );
  await rejects(
    t,
    core,
    {
      trackers: [
        { id: 5, owner: 'alice@example.com', model: 'telfm', device_id: 'd5' },
        { id: 6, owner: 'alice@example.com', model: 'telfm', device_id: 'd5' },
      ],
    },
    'trackers[1] (id 6): device_id d5 listed twice (also trackers[0] (id 5))',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'bob@example.com', model: 'telfm', device_id: '356307042441013' }] },
    'trackers[0] (id 5): device_id 356307042441013 already belongs to tracker 1001 of alice@example.com',
  );
  await rejects(t, core, { users: [alice, { login: 'Alice@example.com', password: 'x' }] }, 'users[1] (Alice@example.com): login listed twice (also users[0])');
  await rejects(
    t,
    core,
    {
      users: [alice],
      subusers: [{ login: 'alice@example.com', password: 'x', master: 'bob@example.com' }],
    },
    'subusers[0] (alice@example.com): listed both as user (users[0]) and as sub-user',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'bob@example.com', password: 'x', master: 'alice@example.com' }] },
    'subusers[0] (bob@example.com): is a master user in the database',
  );
  await rejects(t, core, { users: [{ login: 'carol@example.com', password: 'x' }] }, 'users[0] (carol@example.com): is a sub-user in the database');
  await rejects(
    t,
    core,
    { subusers: [{ login: 'dave@example.com', password: 'x', master: 'nobody@example.com' }] },
    'subusers[0] (dave@example.com): master nobody@example.com is not a known user',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'dave@example.com', password: 'x', master: 'carol@example.com' }] },
    'subusers[0] (dave@example.com): master carol@example.com is a sub-user',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'dave@example.com', password: 'x', master: 'alice@example.com', trackers: [1002] }] },
    'subusers[0] (dave@example.com): tracker 1002 belongs to bob@example.com, not to its master alice@example.com',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'dave@example.com', password: 'x', master: 'alice@example.com', trackers: [999] }] },
    'subusers[0] (dave@example.com): tracker 999 is not a known tracker',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'carol@example.com', password: 'x', master: 'bob@example.com' }] },
    'subusers[0] (carol@example.com): is a sub-user of alice@example.com in the database; it cannot move',
  );
  await rejects(
    t,
    core,
    { subusers: [{ login: 'dave@example.com', password: 'x', master: 'alice@example.com', rights: ['Bad-Right'] }] },
    'subusers[0] (dave@example.com): rights[0] must be 1 to 64 characters a-z or _',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 5, owner: 'carol@example.com', model: 'telfm', device_id: 'd5' }] },
    'trackers[0] (id 5): owner carol@example.com is a sub-user',
  );
  await rejects(
    t,
    core,
    { users: [{ login: 'bob@example.com', password: 'secret-2', api_keys: ['0123456789abcdef0123456789abcdef'] }] },
    'users[0] (bob@example.com): api key 01234567… already belongs to another user (alice@example.com)',
  );
  await rejects(
    t,
    core,
    {
      users: [
        { login: 'x@example.com', password: 'x', api_keys: ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'] },
        { login: 'y@example.com', password: 'y', api_keys: ['aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'] },
      ],
    },
    'users[1] (y@example.com): api key aaaaaaaa… is also listed for users[0] (x@example.com)',
  );
  await rejects(
    t,
    core,
    { users: [{ login: 'x@example.com', password: 'x', api_keys: ['NOT-HEX'] }] },
    'users[0] (x@example.com): api_keys[0] must be 32 lowercase hex characters',
  );
  await rejects(
    t,
    core,
    { models: [{ code: 'm1', tracking_profile: 'no_such_profile' }] },
    'models[0] (m1): tracking_profile "no_such_profile" is not a loaded profile',
  );
  await rejects(t, core, { models: [{ code: 'Bad Code', tracking_profile: null }] }, 'models[0] (Bad Code): code must be 1 to 64 characters');
  await rejects(
    t,
    core,
    {
      models: [
        { code: 'm1', tracking_profile: null },
        { code: 'm1', tracking_profile: 'telfm' },
      ],
    },
    'models[1] (m1): code listed twice (also models[0])',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 1001, owner: 'bob@example.com', model: 'telfm', device_id: '356307042441013' }] },
    'trackers[0] (id 1001): tracker 1001 is bound to sub-users of alice@example.com; its owner cannot change',
  );
  await rejects(
    t,
    core,
    { trackers: [{ id: 1001, owner: 'alice@example.com', clone_of: 1002 }] },
    'trackers[0] (id 1001): clone_of 1002 is itself a clone',
    'tracker 1001 has clones in the database (1002)',
  );
  await rejects(t, core, { users: [{ login: 'x@example.com', password: 'x', extra: 1 }] }, 'users[0] (x@example.com): unknown field "extra"');
  await rejects(t, core, { user: [] }, 'unknown section "user" (expected models, users, subusers, groups, trackers)');
  await rejects(t, core, { users: {} }, 'users: must be a list');
  await rejects(t, core, [], 'must hold a JSON object');
  await rejects(t, core, { users: [{ login: 'x@example.com' }] }, 'users[0] (x@example.com): password is required');

  // every problem is reported, not only the first
  const err = await rejects(
    t,
    core,
    {
      users: [{ login: 'x@example.com', password: 'x' }],
      trackers: [
        { id: 5, owner: 'nobody@example.com', model: 'telfm', device_id: 'd5' },
        { id: 6, owner: 'x@example.com', model: 'nope', device_id: 'd6' },
        { id: 7, owner: 'x@example.com', clone_of: 12345 },
      ],
    },
    'trackers[0] (id 5): owner nobody@example.com',
    'trackers[1] (id 6): model "nope"',
    'trackers[2] (id 7): clone_of 12345',
  );
  t.equal(err.problems.length, 3);
  t.match(err.message, /^invalid provisioning file \(3 problems\):\n {2}- /);
});

t.test("groups: upsert by id, a default colour, trackers in their owners' groups, phones", async (t) => {
  const core = open(t);
  const { store } = core;
  await provision(store, core.profiles, DOCS_EXAMPLE);
  const file = {
    groups: [
      { id: 7, owner: 'alice@example.com', title: 'North depot', color: '1e96dc' },
      { id: 8, owner: 'alice@example.com', title: 'South depot' },
      { id: 9, owner: 'bob@example.com', title: "Bob's", color: 'FF0000' },
    ],
    trackers: [
      { id: 1001, owner: 'alice@example.com', model: 'telfm', device_id: '356307042441013', group_id: 7, phone: '+447700900123' },
      { id: 1002, owner: 'bob@example.com', clone_of: 1001, group_id: 9 },
    ],
  };
  const report = await provision(store, core.profiles, file);
  t.same(report.groups, [
    { id: 7, created: true },
    { id: 8, created: true },
    { id: 9, created: true },
  ]);
  const alice = store.users.findByLogin('alice@example.com')!;
  t.same(
    store.groups.listForOwner(alice.id),
    [
      { id: 7, owner_id: alice.id, title: 'North depot', color: '1E96DC' },
      { id: 8, owner_id: alice.id, title: 'South depot', color: '1E96DC' },
    ],
    'colours upper case; the default when absent',
  );
  t.match(store.trackers.findTracker(1001), { group_id: 7, phone: '+447700900123', label: 'Truck 1' });
  t.match(store.trackers.findTracker(1002), { group_id: 9, phone: '+447700900123' }, "a clone shows its device's phone");
  t.match(store.trackers.findTracker(1001)!.device_created_at, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  const before = dump(store);
  const again = await provision(store, core.profiles, file);
  t.same(dump(store), before, 're-importing changes nothing');
  t.ok(again.groups.every((g) => !g.created));

  // absent fields keep what is stored; 0 leaves the group, null clears the phone
  await provision(store, core.profiles, {
    groups: [{ id: 7, owner: 'alice@example.com', title: 'North depot (renamed)' }],
    trackers: [{ id: 1001, owner: 'alice@example.com', model: 'telfm', device_id: '356307042441013' }],
  });
  t.match(store.groups.findGroup(7), { title: 'North depot (renamed)', color: '1E96DC' }, 'colour kept');
  t.match(store.trackers.findTracker(1001), { group_id: 7, phone: '+447700900123' }, 'group and phone kept');
  await provision(store, core.profiles, {
    trackers: [{ id: 1001, owner: 'alice@example.com', model: 'telfm', device_id: '356307042441013', group_id: 0, phone: null }],
  });
  t.match(store.trackers.findTracker(1001), { group_id: null, phone: null }, 'group left, phone cleared');
});

t.test('group rejections name the entry and change nothing', async (t) => {
  const core = open(t);
  await provision(core.store, core.profiles, {
    ...DOCS_EXAMPLE,
    groups: [
      { id: 7, owner: 'alice@example.com', title: 'North depot' },
      { id: 9, owner: 'bob@example.com', title: "Bob's" },
    ],
    trackers: [
      { ...DOCS_EXAMPLE.trackers[0]!, group_id: 7 },
      { ...DOCS_EXAMPLE.trackers[1]!, group_id: 9 },
    ],
  });
  const t1001 = { id: 1001, owner: 'alice@example.com', model: 'telfm', device_id: '356307042441013' };
  await rejects(
    t,
    core,
    { trackers: [{ ...t1001, group_id: 9 }] },
    'trackers[0] (id 1001): group_id 9 is a group of bob@example.com, not of alice@example.com',
  );
  await rejects(t, core, { trackers: [{ ...t1001, group_id: 70 }] }, 'trackers[0] (id 1001): group_id 70 is not a known group');
  await rejects(
    t,
    core,
    {
      groups: [{ id: 70, owner: 'bob@example.com', title: 'New' }],
      trackers: [{ id: 5, owner: 'alice@example.com', model: 'telfm', device_id: 'd5', group_id: 70 }],
    },
    'trackers[0] (id 5): group_id 70 is a group of bob@example.com, not of alice@example.com',
  );
  await rejects(
    t,
    core,
    { groups: [{ id: 7, owner: 'bob@example.com', title: 'Taken over' }] },
    'groups[0] (id 7): holds tracker 1001 of alice@example.com; its owner cannot change',
  );
  await rejects(
    t,
    core,
    {
      groups: [{ id: 7, owner: 'bob@example.com', title: 'Taken over' }],
      trackers: [t1001],
    },
    'trackers[0] (id 1001): stays in group 7 of bob@example.com, not a group of alice@example.com',
  );
  await rejects(
    t,
    core,
    { groups: [{ id: 8, owner: 'carol@example.com', title: 'x' }] },
    'groups[0] (id 8): owner carol@example.com is a sub-user; groups belong to master users',
  );
  await rejects(t, core, { groups: [{ id: 8, owner: 'nobody@example.com', title: 'x' }] }, 'groups[0] (id 8): owner nobody@example.com is not a known user');
  await rejects(
    t,
    core,
    {
      groups: [
        { id: 8, owner: 'alice@example.com', title: 'x' },
        { id: 8, owner: 'alice@example.com', title: 'y' },
      ],
    },
    'groups[1] (id 8): id 8 listed twice (also groups[0])',
  );
  for (const color of ['#1E96DC', '1E96D', 'GGGGGG', '1E96DC0', 123]) {
    await rejects(t, core, { groups: [{ id: 8, owner: 'alice@example.com', title: 'x', color }] }, 'groups[0] (id 8): color must be 6 hex digits');
  }
  await rejects(t, core, { groups: [{ id: 8, owner: 'alice@example.com' }] }, 'groups[0] (id 8): title is required');
  await rejects(t, core, { trackers: [{ ...t1001, group_id: -1 }] }, 'trackers[0] (id 1001): group_id must be a group id, 0 or null');
  await rejects(t, core, { trackers: [{ ...t1001, phone: '12-34' }] }, 'trackers[0] (id 1001): phone must be 3 to 20 digits');
  await rejects(
    t,
    core,
    { trackers: [{ id: 1002, owner: 'bob@example.com', clone_of: 1001, phone: '123456' }] },
    "trackers[0] (id 1002): a clone (clone_of) shares its target's device and takes no phone",
  );
});

t.test('shape and reference problems are reported together, each once, in file order', async (t) => {
  const core = open(t);
  await provision(core.store, core.profiles, DOCS_EXAMPLE);
  const err = await rejects(t, core, {
    trackers: [
      { id: 5, owner: 'nobody@example.com', model: 'telfm', device_id: 'd5' },
      { id: 6, owner: 'alice@example.com', model: 'telfm', device_id: 'a/b' },
      { id: 7, owner: 'alice@example.com', clone_of: 12345 },
      { id: 8, owner: 'alice@example.com', model: 'telfm', device_id: 'd8', label: '' },
      { id: 9, owner: 'alice@example.com', clone_of: 8 },
    ],
    models: [
      { code: 'm1', tracking_profile: 'no_such_profile' },
      { code: 'Bad Code', tracking_profile: null },
    ],
    users: [
      { login: 'x@example.com', password: '' },
      { login: 'bob@example.com', password: 'secret-2', api_keys: ['0123456789abcdef0123456789abcdef'] },
    ],
    subusers: [
      { login: 'dave@example.com', password: 'x', master: 'nobody@example.com' },
      { login: 'erin@example.com', password: 'x', master: 'x@example.com', rights: ['Bad-Right'] },
      { login: 'fay@example.com', password: 'x', master: 'x@example.com', trackers: [8, 1001] },
    ],
  });
  t.same(
    err.problems,
    [
      'trackers[0] (id 5): owner nobody@example.com is not a known user',
      'trackers[1] (id 6): device_id must be 1 to 64 characters A-Z, a-z, 0-9, _ . : or - (no / + # or spaces)',
      'trackers[2] (id 7): clone_of 12345 is not a known tracker',
      'trackers[3] (id 8): label must not be empty',
      'models[0] (m1): tracking_profile "no_such_profile" is not a loaded profile',
      'models[1] (Bad Code): code must be 1 to 64 characters a-z, 0-9 or _',
      'users[0] (x@example.com): password must not be empty',
      'users[1] (bob@example.com): api key 01234567… already belongs to another user (alice@example.com)',
      'subusers[0] (dave@example.com): master nobody@example.com is not a known user',
      'subusers[1] (erin@example.com): rights[0] must be 1 to 64 characters a-z or _',
      'subusers[2] (fay@example.com): tracker 1001 belongs to alice@example.com, not to its master x@example.com',
    ],
    'every problem of both kinds, in the order of the file (sections as listed), each once; none for naming an entry refused for its shape (x@example.com, tracker 8)',
  );
});

t.test('nothing is written when a write fails midway (one transaction)', async (t) => {
  const core = open(t);
  const before = dump(core.store);
  const bind = core.store.trackers.bind.bind(core.store.trackers);
  core.store.trackers.bind = () => {
    throw new Error('disk on fire');
  };
  await t.rejects(provision(core.store, core.profiles, DOCS_EXAMPLE), /disk on fire/);
  core.store.trackers.bind = bind;
  t.same(dump(core.store), before);
});

t.test('a store without the configured models still accepts profile codes as models', async (t) => {
  const store = openStore(join(t.testdir(), 't.db'));
  t.teardown(() => store.close());
  const profiles = loadProfiles(loadConfig({}).profilesDir);
  t.equal(store.trackers.findModel('telfm'), undefined);
  await provision(store, profiles, {
    users: [{ login: 'u@example.com', password: 'pw' }],
    trackers: [{ id: 1, owner: 'u@example.com', model: 'telfm', device_id: 'd1' }],
  });
  t.same(store.trackers.findModel('telfm'), { code: 'telfm', tracking_profile: 'telfm' });
  t.match(store.trackers.findTracker(1), { model: 'telfm', tracking_profile: 'telfm' });
});
