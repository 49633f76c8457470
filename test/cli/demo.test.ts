import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { builtCli, runCli } from '../helpers/cli.js';
import { digestMatches } from '../../src/auth/crypto.js';
import {
  DEMO_CLONE,
  DEMO_DEVICES,
  DEMO_GROUP,
  DEMO_DISPATCHER,
  DEMO_DISPATCHER_TRACKERS,
  DEMO_UPDATE,
  DEMO_USER,
  DEMO_VIEWER,
} from '../../src/cli/demo-data.js';
import { loadConfig } from '../../src/config/load.js';
import { openSqliteCore } from '../../src/server.js';
import { AuthService, principalOf } from '../../src/settings/auth-service.js';
import { TrackerService } from '../../src/settings/tracker-service.js';
import { NO_PUBLISHER } from '../../src/settings/types.js';
import type { Store } from '../../src/store/index.js';

function cli(db: string, ...args: string[]) {
  return runCli(db, args, { TRACKCONF_HTTP_PORT: '18080', TRACKCONF_MQTT_PORT: '11883' });
}

interface DemoJson {
  login: string;
  password: string;
  hash: string;
  api_key: string;
  trackers: { id: number; model: string; profile: string; device_id: string; device_secret: string; settings_version: number }[];
  clone: { id: number; clone_of: number; device_id: string; owner: string };
  subuser: { login: string; rights: string[]; trackers: number[] };
  commands: Record<string, string>;
}

function withStore<T>(db: string, fn: (store: Store, profiles: ReturnType<typeof openSqliteCore>['profiles']) => T): T {
  const { store, profiles } = openSqliteCore(loadConfig({ TRACKCONF_DB: db }));
  try {
    return fn(store, profiles);
  } finally {
    store.close();
  }
}

const versionCount = (store: Store) => store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM settings_versions').get()!.n;

t.test('demo --json seeds the demo account idempotently', async (t) => {
  const dir = t.testdir();
  const db = join(dir, 't.db');
  const first = cli(db, 'demo', '--json');
  t.equal(first.code, 0, first.stderr);
  const one = JSON.parse(first.stdout) as DemoJson;
  t.equal(one.login, DEMO_USER.login);
  t.equal(one.password, DEMO_USER.password);
  t.equal(one.api_key, DEMO_USER.apiKey);
  t.match(one.hash, /^[0-9a-f]{32}$/);
  t.same(
    one.trackers.map((tr) => ({ id: tr.id, deviceId: tr.device_id, secret: tr.device_secret, model: tr.model })),
    DEMO_DEVICES.map((d) => ({ id: d.trackerId, deviceId: d.deviceId, secret: d.secret, model: d.model })),
  );
  t.equal(new Set(one.trackers.map((tr) => tr.model)).size, 4, 'four different models');
  t.equal(new Set(one.trackers.map((tr) => tr.profile)).size, 4, 'four different profiles');
  t.ok(
    one.trackers.every((tr) => tr.settings_version === 1),
    'each tracker has initial settings',
  );
  t.match(one.clone, { id: DEMO_CLONE.trackerId, clone_of: DEMO_CLONE.cloneOf, owner: DEMO_VIEWER.login, device_id: DEMO_DEVICES[0]!.deviceId });
  t.match(one.subuser, { login: DEMO_DISPATCHER.login, rights: ['tracker_configure'], trackers: [...DEMO_DISPATCHER_TRACKERS] });

  // the printed commands use the configured ports, the session hash and the demo credentials
  const d0 = DEMO_DEVICES[0]!;
  t.equal(
    one.commands.read_post,
    `curl -s -X POST http://127.0.0.1:18080/tracker/settings/tracking/read -H 'Content-Type: application/json' -d '{"hash":"${one.hash}","tracker_id":"${d0.trackerId}"}'`,
  );
  t.equal(one.commands.read_get, `curl -s 'http://127.0.0.1:18080/tracker/settings/tracking/read?hash=${one.hash}&tracker_id=${d0.trackerId}'`);
  t.match(one.commands.update, `http://127.0.0.1:18080/tracker/settings/tracking/update`);
  t.match(one.commands.update, `"tracking_settings":${JSON.stringify(DEMO_UPDATE.trackingSettings)}`);
  for (const call of ['profile', 'history', 'revert', 'bulk_update', 'sync_summary']) {
    t.match(one.commands[call], `http://127.0.0.1:18080/tracker/settings/tracking/${call} `, `a ${call} example`);
  }
  t.match(one.commands.update_dry_run, '"dry_run":true');
  t.match(one.commands.update_expected_version, '"expected_version":1');
  t.match(one.commands.update_expected_version, '"request_id":');
  t.equal(
    one.commands.mosquitto_sub,
    `mosquitto_sub -h 127.0.0.1 -p 11883 -u ${d0.deviceId} -P '${d0.secret}' -i ${d0.deviceId} -t trackers/${d0.deviceId}/config/tracking -q 1 -v`,
  );

  const before = withStore(db, (store) => ({ versions: versionCount(store), devices: store.db.prepare('SELECT * FROM devices').all() }));
  t.equal(before.versions, 4);

  const second = cli(db, 'demo', '--json');
  t.equal(second.code, 0, second.stderr);
  const two = JSON.parse(second.stdout) as DemoJson;
  t.same(
    two.trackers.map((tr) => tr.id),
    one.trackers.map((tr) => tr.id),
    'same tracker ids',
  );
  t.equal(two.clone.id, one.clone.id);
  t.not(two.hash, one.hash, 'a new session each run');

  withStore(db, (store, profiles) => {
    t.equal(versionCount(store), before.versions, 'no version added by the second run');
    t.same(store.db.prepare('SELECT * FROM devices').all(), before.devices, 'devices unchanged');
    const auth = new AuthService(store, { sessionIdleMs: 86_400_000, maxLoginFailures: 10, loginWindowMs: 900_000 });
    for (const hash of [one.hash, two.hash, DEMO_USER.apiKey]) {
      t.equal(auth.authenticate(hash).login, DEMO_USER.login, 'the printed credential authenticates');
    }
    t.equal(auth.authenticate(DEMO_VIEWER.apiKey).login, DEMO_VIEWER.login);
    const demoUser = store.users.findByLogin(DEMO_USER.login)!;
    t.same(
      store.groups.listForOwner(demoUser.id),
      [{ id: DEMO_GROUP.id, owner_id: demoUser.id, title: DEMO_GROUP.title, color: DEMO_GROUP.color }],
      'the demo group',
    );
    for (const d of DEMO_DEVICES) {
      t.match(
        store.trackers.findTracker(d.trackerId),
        {
          group_id: DEMO_GROUP.trackers.includes(d.trackerId) ? DEMO_GROUP.id : null,
          phone: d.phone ?? null,
        },
        `tracker ${d.trackerId}: group and phone`,
      );
    }

    for (const device of DEMO_DEVICES) {
      const row = store.trackers.findDevice(device.deviceId)!;
      t.ok(digestMatches(device.secret, row.secret_digest), `${device.deviceId}: the demo secret is its MQTT password`);
    }
    const user = store.users.findByLogin(DEMO_USER.login)!;
    const service = new TrackerService(store, profiles, NO_PUBLISHER);
    for (const device of DEMO_DEVICES) {
      const read = service.readSettings(principalOf(user, null), device.trackerId);
      t.equal(read.sync.version, 1);
      t.equal(read.sync.state, 'pending');
    }
    // the printed update example is a valid change
    const sync = service.updateSettings(principalOf(user, null), DEMO_UPDATE.trackerId, DEMO_UPDATE.trackingSettings);
    t.equal(sync.version, 2);

    const dispatcher = store.users.findByLogin(DEMO_DISPATCHER.login)!;
    t.equal(dispatcher.master_id, user.id);
    t.same(
      service.list(principalOf(dispatcher, null)).map((tr) => tr.id),
      [...DEMO_DISPATCHER_TRACKERS],
    );
    const viewer = store.users.findByLogin(DEMO_VIEWER.login)!;
    t.match(service.list(principalOf(viewer, null)), [{ id: DEMO_CLONE.trackerId, clone: true }]);
  });

  // a third run after a user change keeps that change (no new initial version)
  t.equal(cli(db, 'demo', '--json').code, 0);
  withStore(db, (store) => t.equal(versionCount(store), 5));
});

t.test('demo prints readable text by default', async (t) => {
  const db = join(t.testdir(), 't.db');
  const run = cli(db, 'demo');
  t.equal(run.code, 0, run.stderr);
  const hash = /hash\s+([0-9a-f]{32})/.exec(run.stdout)?.[1];
  t.ok(hash, 'prints the session hash');
  for (const text of [
    DEMO_USER.login,
    DEMO_USER.password,
    DEMO_USER.apiKey,
    ...DEMO_DEVICES.flatMap((d) => [String(d.trackerId), d.model, d.deviceId, d.secret]),
    `curl -s -X POST http://127.0.0.1:18080/tracker/settings/tracking/read -H 'Content-Type: application/json' -d '{"hash":"${hash}","tracker_id":"900001"}'`,
    `curl -s 'http://127.0.0.1:18080/tracker/settings/tracking/read?hash=${hash}&tracker_id=900001'`,
    'http://127.0.0.1:18080/tracker/settings/tracking/update',
    `mosquitto_sub -h 127.0.0.1 -p 11883 -u ${DEMO_DEVICES[0]!.deviceId}`,
  ]) {
    t.ok(run.stdout.includes(text), `prints ${text}`);
  }
  t.equal(cli(db, 'demo', '--bogus').code, 1, 'unknown option');
});

t.test('demo does not take over a tracker id of another account', async (t) => {
  const dir = t.testdir({
    'taken.json': JSON.stringify({
      users: [{ login: 'someone@example.com', password: 'x' }],
      trackers: [{ id: DEMO_DEVICES[1]!.trackerId, owner: 'someone@example.com', model: 'telfm', device_id: 'real-device' }],
    }),
  });
  const db = join(dir, 't.db');
  t.equal(cli(db, 'import', join(dir, 'taken.json')).code, 0);
  const before = withStore(db, (store) => store.db.prepare('SELECT * FROM trackers').all());
  const run = cli(db, 'demo', '--json');
  t.equal(run.code, 1);
  t.match(run.stderr, `tracker id ${DEMO_DEVICES[1]!.trackerId} belongs to someone@example.com`);
  withStore(db, (store) => {
    t.same(store.db.prepare('SELECT * FROM trackers').all(), before);
    t.equal(store.users.findByLogin(DEMO_USER.login), undefined, 'nothing seeded');
  });
});

t.test('demo does not take over a group id of another account', async (t) => {
  const dir = t.testdir({
    'taken.json': JSON.stringify({
      users: [{ login: 'someone@example.com', password: 'x' }],
      groups: [{ id: DEMO_GROUP.id, owner: 'someone@example.com', title: 'Mine' }],
    }),
  });
  const db = join(dir, 't.db');
  t.equal(cli(db, 'import', join(dir, 'taken.json')).code, 0);
  const run = cli(db, 'demo', '--json');
  t.equal(run.code, 1);
  t.match(run.stderr, `group id ${DEMO_GROUP.id} belongs to someone@example.com`);
  withStore(db, (store) => {
    t.match(store.groups.findGroup(DEMO_GROUP.id), { title: 'Mine' }, 'the group is untouched');
    t.equal(store.users.findByLogin(DEMO_USER.login), undefined, 'nothing seeded');
  });
});

t.test('the database used is named by its absolute path: the default follows the current directory', async (t) => {
  const cwd = t.testdir();
  const run = spawnSync(process.execPath, [builtCli(), 'demo', '--json'], {
    cwd,
    env: { ...process.env, TRACKCONF_DB: '', TRACKCONF_CONFIG: '' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(run.status, 0, run.stderr);
  t.equal(run.stderr, `trackconf: database ${join(cwd, 'data', 'trackconf.db')}\n`, 'one line on stderr');
  t.ok(existsSync(join(cwd, 'data', 'trackconf.db')), 'and that is where it seeded');
});
