import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';
import { digestMatches } from '../../src/auth/crypto.js';
import { openStore, type Store } from '../../src/store/index.js';

function cli(db: string, ...args: string[]) {
  return runCli(db, args);
}

function dump(store: Store): Record<string, unknown[]> {
  const tables = store.db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);
  return Object.fromEntries(
    tables.map((table) => [
      table,
      store.db
        .prepare(`SELECT * FROM "${table}" ORDER BY 1, 2`)
        .all()
        .map((row) => Object.fromEntries(Object.entries(row as Record<string, unknown>).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v]))),
    ]),
  );
}

function dumpFile(db: string): Record<string, unknown[]> {
  const store = openStore(db);
  try {
    return dump(store);
  } finally {
    store.close();
  }
}

const VALID = {
  models: [{ code: 'fmb920', tracking_profile: 'telfm' }],
  users: [
    { login: 'alice@example.com', password: 'secret-1', api_keys: ['0123456789abcdef0123456789abcdef'] },
    { login: 'bob@example.com', password: 'secret-2' },
  ],
  subusers: [{ login: 'carol@example.com', password: 'secret-3', master: 'alice@example.com', rights: ['tracker_configure'], trackers: [1001] }],
  trackers: [
    { id: 1001, owner: 'alice@example.com', label: 'Truck 1', model: 'fmb920', device_id: '356307042441013', device_secret: 's3cret-device-token' },
    { id: 1002, owner: 'bob@example.com', label: 'Truck 1 (shared)', clone_of: 1001 },
    { owner: 'bob@example.com', model: 'gl200', device_id: '356307042441099' },
  ],
};

t.test('import of a valid file: exit 0, a JSON report; re-import changes nothing', async (t) => {
  const dir = t.testdir({ 'file.json': JSON.stringify(VALID) });
  const db = join(dir, 't.db');
  const run = cli(db, 'import', join(dir, 'file.json'));
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stderr, `trackconf: database ${db}\n`, 'only the database it used, by its absolute path');
  const report = JSON.parse(run.stdout) as {
    users: { login: string; api_keys?: string[] }[];
    trackers: { id: number; device_id: string; device_secret?: string; created: boolean }[];
  };
  t.match(report, {
    models: [{ code: 'fmb920', tracking_profile: 'telfm' }],
    users: [
      { login: 'alice@example.com', created: true },
      { login: 'bob@example.com', created: true },
    ],
    subusers: [{ login: 'carol@example.com', created: true }],
    trackers: [
      { id: 1001, device_id: '356307042441013', device_secret: 's3cret-device-token', created: true },
      { id: 1002, device_id: '356307042441013', created: true },
      { device_id: '356307042441099', created: true },
    ],
  });
  t.equal(report.users[1]!.api_keys?.length, 1, 'a key generated for bob');
  const generated = report.trackers[2]!;
  t.ok(generated.device_secret, 'a secret generated for the device without one');

  const store = openStore(db);
  t.ok(digestMatches(generated.device_secret!, store.trackers.findDevice('356307042441099')!.secret_digest));
  t.equal(store.trackers.findTracker(generated.id)!.device_id, '356307042441099');
  store.close();

  const before = dumpFile(db);
  const again = cli(db, 'import', join(dir, 'file.json'));
  t.equal(again.code, 0, again.stderr);
  t.same(dumpFile(db), before, 'the database is unchanged by a second import');
  const second = JSON.parse(again.stdout) as typeof report;
  t.same(
    second.trackers.map((r) => r.id),
    report.trackers.map((r) => r.id),
  );
  t.notOk(second.trackers[2]!.device_secret, 'the stored secret is kept and not shown');
});

t.test('an invalid file exits non-zero and changes nothing', async (t) => {
  const dir = t.testdir({
    'seed.json': JSON.stringify(VALID),
    'broken.json': '{"users": [',
    'refs.json': JSON.stringify({
      users: [{ login: 'dave@example.com', password: 'x' }],
      trackers: [
        { id: 2001, owner: 'dave@example.com', model: 'no_such_model', device_id: 'dev-2001' },
        { id: 1002, owner: 'bob@example.com', clone_of: 1005 },
      ],
    }),
    'shape.json': JSON.stringify({ trackers: [{ id: 3, owner: 'alice@example.com', model: 'telfm', device_id: 'a/b' }] }),
    'array.json': '[]',
  });
  const db = join(dir, 't.db');

  const missingDb = join(dir, 'never.db');
  const early = cli(missingDb, 'import', join(dir, 'broken.json'));
  t.equal(early.code, 1);
  t.notOk(existsSync(missingDb), 'invalid JSON: the database is not even created');

  t.equal(cli(db, 'import', join(dir, 'seed.json')).code, 0);
  const before = dumpFile(db);

  const broken = cli(db, 'import', join(dir, 'broken.json'));
  t.equal(broken.code, 1);
  t.equal(broken.stdout, '');
  t.match(broken.stderr, /^trackconf: .*broken\.json: not valid JSON \(.*\)\n$/);

  const missing = cli(db, 'import', join(dir, 'nope.json'));
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.json: cannot be read \(ENOENT\)/);

  const refs = cli(db, 'import', join(dir, 'refs.json'));
  t.equal(refs.code, 1);
  t.equal(refs.stdout, '');
  t.match(refs.stderr, /2 problems/);
  t.match(refs.stderr, /trackers\[0\] \(id 2001\): model "no_such_model" is not a known model/);
  t.match(refs.stderr, /trackers\[1\] \(id 1002\): clone_of 1005 is not a known tracker/);

  const shape = cli(db, 'import', join(dir, 'shape.json'));
  t.equal(shape.code, 1);
  t.match(shape.stderr, /trackers\[0\] \(id 3\): device_id must be/);

  const array = cli(db, 'import', join(dir, 'array.json'));
  t.equal(array.code, 1);
  t.match(array.stderr, /must hold a JSON object/);

  const usage = cli(db, 'import');
  t.equal(usage.code, 1);
  t.match(usage.stderr, /usage: trackconf import <file\.json>/);

  t.same(dumpFile(db), before, 'nothing changed');
});

t.test('a secret from the file never lands in the database file', async (t) => {
  const dir = t.testdir({ 'file.json': JSON.stringify(VALID) });
  const db = join(dir, 't.db');
  t.equal(cli(db, 'import', join(dir, 'file.json')).code, 0);
  const bytes = Buffer.concat([db, `${db}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
  t.ok(bytes.includes('356307042441013'));
  t.notOk(bytes.includes('s3cret-device-token'));
  t.notOk(bytes.includes('0123456789abcdef0123456789abcdef'));
});
