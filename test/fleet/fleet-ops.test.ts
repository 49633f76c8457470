/**
 * Fleet operations over HTTP (docs/api.md#fleet-operations): profile, history, revert,
 * expected_version, dry_run, bulk_update and sync_summary, with their rights and check order.
 */
import t, { type Test } from 'tap';
import { ALICE, ARRAYS, BLOCKED, BOB, CAROL, CLONE_ID, DAVE, FORMATS, NO_PROFILE, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { expectError, expectOk, sessionFor } from '../helpers/http.js';
import { collect, connect, trackerOptions, until } from '../helpers/mqtt.js';
import { form, get, type ApiAnswer } from '../helpers/server.js';
import { fleetServer, P } from './helpers.js';
import { sqliteDb } from '../../src/store/index.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const VALID_JT703 = { tracking_interval: 60, sleep_mode: 'enabled' };

/** 1001 with the device's latest version in `sync` (HTTP 409). */
function expectConflict(t: Test, answer: ApiAnswer, latest: number): void {
  t.equal(answer.status, 409, `1001: HTTP 409 (${JSON.stringify(answer.body)})`);
  t.strictSame(answer.body.status, { code: 1001, description: 'Version conflict' });
  t.strictSame(Object.keys(answer.body), ['success', 'status', 'sync']);
  t.equal(answer.body.sync.version, latest, `sync of version ${latest}`);
}

t.test("profile: the form of the tracker's profile, in field order", async (t) => {
  const { url, server, call } = await fleetServer(t);
  const telfm = expectOk(t, await call(P.profile, { tracker_id: TELFM.trackerId })).value;
  t.equal(telfm.profile, 'telfm');
  t.strictSame(
    telfm.fields.map((f: { name: string }) => f.name),
    ['tracking_angle', 'tracking_distance', 'tracking_interval', 'on_stop_tracking_interval', 'sleep_mode', 'stop_detection'],
  );
  t.strictSame(telfm.fields[0], { name: 'tracking_angle', type: 'integer', required: true, min: 10, max: 255, unit: 'deg' });
  t.strictSame(telfm.fields[4], { name: 'sleep_mode', type: 'enum', required: true, values: ['disabled', 'soft_sleep'] });

  const cguard = expectOk(t, await get(url, P.profile, { hash: ALICE.apiKey, tracker_id: String(FORMATS.trackerId) })).value;
  const byName = new Map(cguard.fields.map((f: { name: string }) => [f.name, f]));
  t.strictSame(byName.get('wakeup_time'), { name: 'wakeup_time', type: 'string', required: true, format: 'HH:mm', default: '12:00' });
  t.strictSame(byName.get('wakeup_period'), {
    name: 'wakeup_period',
    type: 'integer',
    required: false,
    min: 15,
    max: 65535,
    default: 1440,
    unit: 'min',
    required_if: { field: 'wakeup_type', equals: 'PERIODICAL' },
  });
  const jt703 = expectOk(t, await form(url, P.profile, { hash: ALICE.apiKey, tracker_id: String(ARRAYS.trackerId) })).value;
  t.strictSame(jt703.fields[2], {
    name: 'wakeup_timers',
    type: 'array',
    required: false,
    items: { type: 'string', format: 'HH:mm:ss' },
    minItems: 1,
    maxItems: 48,
  });

  t.equal(expectOk(t, await call(P.profile, { tracker_id: CLONE_ID }, BOB.apiKey)).value.profile, 'telfm', 'a clone reads it');
  const dave = sessionFor(server, DAVE.login);
  t.equal(expectOk(t, await call(P.profile, { tracker_id: TELFM.trackerId }, dave)).value.profile, 'telfm', 'a sub-user without rights reads it');
  expectError(t, await call(P.profile, { tracker_id: NO_PROFILE.trackerId }), 'notSupported');
  expectError(t, await call(P.profile, { tracker_id: BLOCKED.trackerId }), 'deviceBlocked');
  expectError(t, await call(P.profile, { tracker_id: CLONE_ID }), 'notFound');
  expectError(t, await call(P.profile, { tracker_id: 'abc' }), 'invalidParameters', ['tracker_id']);
});

t.test('history, revert and expected_version', async (t) => {
  const { server, call, versions, userId, mqttUrl } = await fleetServer(t);
  const alice = userId(ALICE.login);
  const carol = sessionFor(server, CAROL.login);
  const history = async (params: Record<string, unknown> = {}, hash?: string) =>
    expectOk(t, await call(P.history, { tracker_id: TELFM.trackerId, ...params }, hash), `history ${JSON.stringify(params)}`);

  t.strictSame((await history()).list, [], 'no version yet: empty list, no next_before_version');
  t.strictSame(Object.keys(await history()).sort(), ['list', 'success']);

  // A tracker that acknowledges (QoS 1 PUBACK → delivered) and answers.
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(`trackers/${TELFM.deviceId}/config/tracking`, { qos: 1 });
  const syncNow = async () => expectOk(t, await call(P.read, { tracker_id: TELFM.trackerId })).sync;

  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM, expected_version: 0 }), 'v1');
  await until(() => received.length === 1, 5000, 'v1 delivered');
  await tracker.publishAsync(`trackers/${TELFM.deviceId}/config/tracking/ack`, JSON.stringify({ version: 1, status: 'applied' }), { qos: 1 });
  for (let i = 0; i < 200 && (await syncNow()).state !== 'applied'; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal((await syncNow()).state, 'applied', 'v1 applied');

  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 90 } }, carol), 'v2 by carol');
  await until(() => received.length === 2, 5000, 'v2 delivered');
  for (let i = 0; i < 200 && (await syncNow()).state !== 'delivered'; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal((await syncNow()).state, 'delivered', 'v2 delivered (PUBACK)');
  await tracker.endAsync(true);

  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { sleep_mode: 'soft_sleep', tracking_angle: 40 } }), 'v3');

  t.test('version conflicts: 1001 with the latest sync, nothing stored', async (t) => {
    const before = await syncNow();
    const count = versions(TELFM.deviceId);
    for (const expected of [0, 2, 4, '1']) {
      const answer = await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 100 }, expected_version: expected });
      t.equal(answer.status, 409, `expected_version ${expected}: HTTP 409`);
      t.strictSame(answer.body, { success: false, status: { code: 1001, description: 'Version conflict' }, sync: before });
      const revert = await call(P.revert, { tracker_id: TELFM.trackerId, version: 1, expected_version: expected });
      t.strictSame(revert.body, { success: false, status: { code: 1001, description: 'Version conflict' }, sync: before }, 'revert too');
    }
    t.equal(versions(TELFM.deviceId), count, 'no version stored');
    t.strictSame(await syncNow(), before);
    expectError(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: {}, expected_version: -1 }), 'invalidParameters', [
      'expected_version',
    ]);
    expectError(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: {}, expected_version: 'x' }), 'invalidParameters', [
      'expected_version',
    ]);
  });

  t.test("history: newest first, changes, author, source, each version's own outcome", async (t) => {
    const body = await history();
    t.notOk('next_before_version' in body, 'no older versions');
    const [v3, v2, v1] = body.list;
    t.equal(body.list.length, 3);
    t.strictSame(
      v1,
      {
        version: 1,
        settings: VALID_TELFM,
        changes: Object.fromEntries(Object.entries(VALID_TELFM).map(([k, v]) => [k, { new: v }])),
        changed_at: v1.changed_at,
        author: { user_id: alice, login: ALICE.login },
        source: 'update',
        state: 'applied',
        delivered_at: v1.delivered_at,
        applied_at: v1.applied_at,
      },
      'v1: every field new, applied by the tracker',
    );
    t.match(v1.delivered_at, ISO);
    t.match(v1.applied_at, ISO);
    t.strictSame(v2.changes, { tracking_interval: { old: 60, new: 90 } });
    t.strictSame(v2.author, { user_id: userId(CAROL.login), login: CAROL.login });
    t.equal(v2.state, 'superseded', 'v2 replaced before the tracker answered');
    t.match(v2.delivered_at, ISO, 'v2 had been delivered');
    t.notOk('applied_at' in v2);
    t.strictSame(v3.changes, { tracking_angle: { old: 30, new: 40 }, sleep_mode: { old: 'disabled', new: 'soft_sleep' } });
    t.equal(v3.state, 'pending');
    t.strictSame(v3.settings, { ...VALID_TELFM, tracking_interval: 90, tracking_angle: 40, sleep_mode: 'soft_sleep' });
    t.strictSame(expectOk(t, await call(P.history, { tracker_id: CLONE_ID }, BOB.apiKey)).list, body.list, "a clone reads its device's history");
    const dave = sessionFor(server, DAVE.login);
    t.equal(expectOk(t, await call(P.history, { tracker_id: TELFM.trackerId }, dave)).list.length, 3, 'a sub-user without rights reads it');
  });

  t.test("revert: a new version with an old version's settings", async (t) => {
    const sync = expectOk(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 1, expected_version: 3 })).sync;
    t.strictSame(Object.keys(sync), ['version', 'state', 'changed_at']);
    t.equal(sync.version, 4);
    t.equal(sync.state, 'pending');
    t.strictSame(expectOk(t, await call(P.read, { tracker_id: TELFM.trackerId })).value, VALID_TELFM);
    const [v4, v3] = (await history({ limit: 2 })).list;
    t.equal(v4.source, 'revert');
    t.strictSame(v4.changes, {
      tracking_angle: { old: 40, new: 30 },
      tracking_interval: { old: 90, new: 60 },
      sleep_mode: { old: 'soft_sleep', new: 'disabled' },
    });
    t.equal(v3.state, 'superseded');

    expectError(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 99 }), 'invalidParameters', ['version'], 'unknown version');
    expectError(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 0 }), 'invalidParameters', ['version'], 'version 0');
    expectError(t, await call(P.revert, { tracker_id: TELFM.trackerId }), 'invalidParameters', ['version'], 'no version');
    expectError(t, await call(P.revert, { tracker_id: CLONE_ID, version: 99 }, BOB.apiKey), 'notForClones', undefined, '219 before the unknown version');
    expectError(t, await call(P.revert, { tracker_id: CLONE_ID, version: 1 }, BOB.apiKey), 'notForClones');
    const dave = sessionFor(server, DAVE.login);
    expectError(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 1 }, dave), 'notPermitted');
    expectError(t, await call(P.revert, { tracker_id: NUMBERS.trackerId, version: 1 }, dave), 'notPermitted', undefined, '13 before 201');
    expectError(t, await call(P.revert, { tracker_id: NUMBERS.trackerId, version: 1 }), 'invalidParameters', ['version'], 'a device without versions');
    expectError(t, await call(P.revert, { tracker_id: BLOCKED.trackerId, version: 99 }), 'deviceBlocked');
    expectError(t, await call(P.revert, { tracker_id: NO_PROFILE.trackerId, version: 99 }), 'notSupported');

    // A version stored under an older profile (wider bounds, a field since removed) no longer fits.
    const device = server.store.trackers.findTracker(TELFM.trackerId)!.device;
    server.store.db
      .prepare("INSERT INTO settings_versions (device, version, settings, changed_by, changed_at) VALUES (?, 5, ?, ?, '2026-01-01T00:00:00.000Z')")
      .run(device, JSON.stringify({ ...VALID_TELFM, tracking_interval: 999, speed_limit: 90 }), alice);
    server.store.db
      .prepare("UPDATE device_sync SET version = 5, settings = ?, state = 'pending' WHERE device = ?")
      .run(JSON.stringify({ ...VALID_TELFM, tracking_interval: 999, speed_limit: 90 }), device);
    const count = versions(TELFM.deviceId);
    expectError(
      t,
      await call(P.revert, { tracker_id: TELFM.trackerId, version: 5 }),
      'invalidParameters',
      ['tracking_settings.tracking_interval', 'tracking_settings.speed_limit'],
      "old settings checked against today's profile",
    );
    expectConflict(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 5, expected_version: 4 }), 5);
    t.equal(versions(TELFM.deviceId), count, 'nothing stored');
    t.equal(expectOk(t, await call(P.revert, { tracker_id: TELFM.trackerId, version: 4 })).sync.version, 6, 'a fitting version still reverts');
  });

  t.test('pagination', async (t) => {
    for (let i = 0; i < 4; i++) expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 100 + i } }));
    const all = (await history({ limit: 1000 })).list;
    t.strictSame(
      all.map((e: { version: number }) => e.version),
      [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    );
    const first = await history({ limit: 4 });
    t.strictSame(first.list, all.slice(0, 4));
    t.equal(first.next_before_version, 7);
    const second = await history({ limit: '4', before_version: '7' });
    t.strictSame(second.list, all.slice(4, 8), 'the next page, decimal strings accepted');
    t.equal(second.next_before_version, 3);
    const last = await history({ limit: 4, before_version: 3 });
    t.strictSame(last.list, all.slice(8));
    t.notOk('next_before_version' in last, 'absent on the last page');
    t.strictSame((await history({ before_version: 1 })).list, []);
    t.strictSame((await history({ before_version: 1000 })).list, all.slice(0, 10), 'before_version above the latest');
    t.equal((await history()).list.length, 10, 'default limit 50');
    for (const limit of [0, 1001, 'x', 2.5]) {
      expectError(t, await call(P.history, { tracker_id: TELFM.trackerId, limit }), 'invalidParameters', ['limit'], `limit ${limit}`);
    }
    expectError(t, await call(P.history, { tracker_id: TELFM.trackerId, before_version: 0 }), 'invalidParameters', ['before_version']);
  });
});

t.test('dry run of update', async (t) => {
  const { url, call, versions } = await fleetServer(t);
  const before = expectOk(t, await call(P.read, { tracker_id: TELFM.trackerId }));
  const dry = expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM, dry_run: true }));
  t.strictSame(dry, {
    success: true,
    dry_run: true,
    value: VALID_TELFM,
    changes: Object.fromEntries(Object.entries(VALID_TELFM).map(([k, v]) => [k, { new: v }])),
    sync: { version: 1, state: 'none' },
  });
  t.strictSame(Object.keys(dry), ['success', 'dry_run', 'value', 'changes', 'sync'], 'key order of docs/api.md');
  t.equal(versions(TELFM.deviceId), 0, 'nothing stored');
  t.strictSame(expectOk(t, await call(P.read, { tracker_id: TELFM.trackerId })), before);
  expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }));

  const get1 = expectOk(
    t,
    await get(url, P.update, {
      hash: ALICE.apiKey,
      tracker_id: String(TELFM.trackerId),
      tracking_settings: '{"tracking_interval":"120"}',
      dry_run: 'true',
    }),
  );
  t.strictSame(get1.changes, { tracking_interval: { old: 60, new: 120 } }, 'GET "true"; numeric strings stored as numbers');
  t.strictSame(get1.sync, { version: 2, state: 'none' });
  t.equal(get1.value.tracking_interval, 120);
  const form1 = expectOk(
    t,
    await form(url, P.update, {
      hash: ALICE.apiKey,
      tracker_id: String(TELFM.trackerId),
      tracking_settings: '{"tracking_angle":45}',
      dry_run: '1',
    }),
  );
  t.strictSame(form1.changes, { tracking_angle: { old: 30, new: 45 } }, 'form 1');
  t.equal(versions(TELFM.deviceId), 1, 'still one version');
  const real = expectOk(t, await form(url, P.update, { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId), tracking_settings: '{}', dry_run: '0' }));
  t.equal(real.sync.version, 2, 'dry_run 0 is a real update');

  expectError(
    t,
    await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 1 }, dry_run: true }),
    'invalidParameters',
    ['tracking_settings.tracking_interval'],
    'a dry run checks the settings',
  );
  expectError(t, await call(P.update, { tracker_id: CLONE_ID, tracking_settings: {}, dry_run: true }, BOB.apiKey), 'notForClones');
  expectConflict(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: {}, dry_run: true, expected_version: 1 }), 2);
  for (const dryRun of ['yes', 2, 'TRUE', null]) {
    expectError(
      t,
      await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: {}, dry_run: dryRun }),
      'invalidParameters',
      ['dry_run'],
      `dry_run ${dryRun}`,
    );
  }
  t.equal(versions(TELFM.deviceId), 2);
});

t.test('bulk_update', async (t) => {
  const { url, server, call, versions } = await fleetServer(t);
  // Groups come from provisioning; here straight in the tables (docs/api.md#trackersettingstrackingbulk_update).
  const owner = sqliteDb(server.store).prepare('SELECT owner_id FROM trackers WHERE id = ?').pluck().get(TELFM.trackerId) as number;
  server.store.groups.upsertGroup(7, owner, 'North depot', '1E96DC');
  sqliteDb(server.store).prepare('UPDATE trackers SET group_id = 7 WHERE id IN (?, ?)').run(TELFM.trackerId, ARRAYS.trackerId);
  const interval = { tracking_interval: 120 };

  t.test('by tracker_ids: in order, deduplicated, each tracker on its own', async (t) => {
    expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }));
    const ids = [TELFM.trackerId, 999_999, BLOCKED.trackerId, TELFM.trackerId, NO_PROFILE.trackerId, CLONE_ID, ARRAYS.trackerId, NUMBERS.trackerId];
    const dry = expectOk(t, await call(P.bulk, { tracker_ids: ids.map(String), tracking_settings: interval, dry_run: true }));
    t.equal(dry.dry_run, true);
    t.strictSame(dry.results[0], {
      tracker_id: TELFM.trackerId,
      success: true,
      value: { ...VALID_TELFM, ...interval },
      changes: { tracking_interval: { old: 60, new: 120 } },
      sync: { version: 2, state: 'none' },
    });
    t.equal(versions(TELFM.deviceId), 1, 'a dry run stores nothing');

    const body = expectOk(t, await call(P.bulk, { tracker_ids: ids, tracking_settings: interval }));
    t.strictSame(
      body.results.map((r: { tracker_id: number }) => r.tracker_id),
      [1001, 999_999, 1003, 1004, 1002, 1005, 1006],
    );
    const [telfm, unknown, blocked, noProfile, clone, arrays, numbers] = body.results;
    t.strictSame(Object.keys(telfm), ['tracker_id', 'success', 'sync']);
    t.equal(telfm.sync.version, 2);
    t.equal(telfm.sync.state, 'pending');
    t.strictSame(unknown, { tracker_id: 999_999, success: false, status: { code: 201, description: 'Not found in the database' } });
    t.equal(blocked.status.code, 208);
    t.equal(noProfile.status.code, 214);
    t.equal(clone.status.code, 201, "bob's clone is not alice's to see");
    t.strictSame(
      arrays.errors.map((e: { parameter: string }) => e.parameter),
      ['tracking_settings.sleep_mode'],
      'required fields missing on a first version',
    );
    t.equal(arrays.status.code, 7);
    t.equal(numbers.status.code, 7);
    t.strictSame(body.summary, { total: 7, updated: 1, failed: 6 });
    t.strictSame(Object.keys(body), ['success', 'results', 'summary']);
    const read = expectOk(t, await call(P.read, { tracker_id: TELFM.trackerId }));
    t.strictSame(read.sync, telfm.sync, 'committed when it answers');
    t.equal(expectOk(t, await call(P.history, { tracker_id: TELFM.trackerId, limit: 1 })).list[0].source, 'bulk');
  });

  t.test('by model and by group', async (t) => {
    const byModel = expectOk(t, await call(P.bulk, { model: 'telfm', tracking_settings: { tracking_interval: 130 } }));
    t.strictSame(
      byModel.results.map((r: { tracker_id: number }) => r.tracker_id),
      [TELFM.trackerId],
    );
    t.strictSame(byModel.summary, { total: 1, updated: 1, failed: 0 });
    const bobs = expectOk(t, await call(P.bulk, { model: 'telfm', tracking_settings: {} }, BOB.apiKey));
    t.strictSame(
      bobs.results,
      [{ tracker_id: CLONE_ID, success: false, status: { code: 219, description: 'Not allowed for clones of the device' } }],
      'a clone in the selection answers 219',
    );
    t.strictSame(
      expectOk(t, await call(P.bulk, { model: 'no_such_model', tracking_settings: {} })),
      {
        success: true,
        results: [],
        summary: { total: 0, updated: 0, failed: 0 },
      },
      'none: success, empty results',
    );
    const byGroup = expectOk(t, await call(P.bulk, { group_id: '7', tracking_settings: { sleep_mode: 'disabled', tracking_interval: 140 } }));
    t.strictSame(
      byGroup.results.map((r: { tracker_id: number; success: boolean }) => [r.tracker_id, r.success]),
      [
        [TELFM.trackerId, true],
        [ARRAYS.trackerId, true],
      ],
    );
    t.strictSame(expectOk(t, await call(P.bulk, { group_id: 8, tracking_settings: {} })).results, []);
    const ungrouped = expectOk(t, await call(P.bulk, { group_id: 0, tracking_settings: {}, dry_run: true }));
    t.strictSame(
      ungrouped.results.map((r: { tracker_id: number }) => r.tracker_id),
      [BLOCKED.trackerId, NO_PROFILE.trackerId, NUMBERS.trackerId, FORMATS.trackerId],
      'group 0: trackers in none',
    );
    const carol = sessionFor(server, CAROL.login);
    const carols = expectOk(t, await call(P.bulk, { model: 'telfm', tracking_settings: {}, dry_run: 'true' }, carol));
    t.strictSame(
      carols.results.map((r: { tracker_id: number }) => r.tracker_id),
      [TELFM.trackerId],
      'a sub-user: its bound trackers',
    );
    t.strictSame(
      expectOk(t, await call(P.bulk, { group_id: 7, tracking_settings: {}, dry_run: true }, carol)).results.map((r: { tracker_id: number }) => r.tracker_id),
      [TELFM.trackerId],
    );
  });

  t.test('the call as a whole: parameters and right', async (t) => {
    const count = versions(TELFM.deviceId);
    expectError(t, await call(P.bulk, { tracking_settings: {} }), 'invalidParameters', ['tracker_ids'], 'no selector');
    expectError(t, await call(P.bulk, { tracker_ids: [1001], model: 'telfm', tracking_settings: {} }), 'invalidParameters', ['tracker_ids'], 'two selectors');
    expectError(
      t,
      await call(P.bulk, { model: 'telfm', group_id: 7 }),
      'invalidParameters',
      ['tracker_ids', 'tracking_settings'],
      'two selectors and no settings',
    );
    expectError(t, await call(P.bulk, { tracker_ids: [], tracking_settings: {} }), 'invalidParameters', ['tracker_ids'], 'empty list');
    expectError(
      t,
      await call(P.bulk, { tracker_ids: Array.from({ length: 10_001 }, (_, i) => i + 1), tracking_settings: {} }),
      'invalidParameters',
      ['tracker_ids'],
      '10,001 ids',
    );
    expectError(t, await call(P.bulk, { tracker_ids: [1001, 'x'], tracking_settings: {} }), 'invalidParameters', ['tracker_ids.1']);
    expectError(t, await call(P.bulk, { tracker_ids: '[1001', tracking_settings: {} }), 'invalidParameters', ['tracker_ids']);
    expectError(t, await call(P.bulk, { model: '', tracking_settings: {} }), 'invalidParameters', ['model']);
    expectError(t, await call(P.bulk, { tracker_ids: [1001] }), 'invalidParameters', ['tracking_settings']);
    const dave = sessionFor(server, DAVE.login);
    expectError(t, await call(P.bulk, { tracker_ids: [1001], tracking_settings: {} }, dave), 'notPermitted');
    expectError(t, await call(P.bulk, { model: 'telfm', tracking_settings: {}, dry_run: true }, dave), 'notPermitted', undefined, 'a dry run too');
    t.equal(versions(TELFM.deviceId), count, 'nothing stored');
    const viaGet = expectOk(
      t,
      await get(url, P.bulk, {
        hash: ALICE.apiKey,
        tracker_ids: '[1001,"1001"]',
        tracking_settings: '{}',
        dry_run: '1',
      }),
    );
    t.strictSame(viaGet.summary, { total: 1, updated: 1, failed: 0 }, 'GET: JSON text, deduplicated');
  });
});

t.test('sync_summary', async (t) => {
  const { server, call, mqttUrl } = await fleetServer(t);
  const empty = expectOk(t, await call(P.summary, {}));
  t.strictSame(empty, { success: true, value: { none: 6, pending: 0, delivered: 0, applied: 0, rejected: 0 }, list: [] });
  const v1 = expectOk(t, await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM })).sync;
  const v2 = expectOk(t, await call(P.update, { tracker_id: ARRAYS.trackerId, tracking_settings: VALID_JT703 })).sync;
  const tracker = await connect(t, mqttUrl, trackerOptions(ARRAYS));
  await tracker.publishAsync(`trackers/${ARRAYS.deviceId}/config/tracking/ack`, JSON.stringify({ version: 1, status: 'applied' }), { qos: 1 });
  for (let i = 0; i < 200 && expectOk(t, await call(P.read, { tracker_id: ARRAYS.trackerId })).sync.state !== 'applied'; i++)
    await new Promise((r) => setTimeout(r, 20));
  t.ok(v2);
  const all = expectOk(t, await call(P.summary, {}));
  t.strictSame(all.value, { none: 4, pending: 1, delivered: 0, applied: 1, rejected: 0 });
  t.strictSame(all.list, [{ tracker_id: TELFM.trackerId, version: 1, state: 'pending', changed_at: v1.changed_at }], 'only trackers not applied or none');
  const some = expectOk(t, await call(P.summary, { tracker_ids: [ARRAYS.trackerId, ARRAYS.trackerId, NUMBERS.trackerId] }));
  t.strictSame(some.value, { none: 1, pending: 0, delivered: 0, applied: 1, rejected: 0 }, 'the given trackers, deduplicated');
  t.strictSame(some.list, []);
  expectError(t, await call(P.summary, { tracker_ids: [TELFM.trackerId, CLONE_ID] }), 'notFound');
  expectError(t, await call(P.summary, { tracker_ids: 'x' }), 'invalidParameters', ['tracker_ids']);
  const bobs = expectOk(t, await call(P.summary, {}, BOB.apiKey));
  t.strictSame(bobs.list, [{ tracker_id: CLONE_ID, version: 1, state: 'pending', changed_at: v1.changed_at }], 'a clone shows its device');
  const dave = sessionFor(server, DAVE.login);
  const daves = expectOk(t, await call(P.summary, {}, dave));
  t.strictSame(daves.value, { none: 1, pending: 1, delivered: 0, applied: 0, rejected: 0 }, 'a sub-user without rights: its bound trackers');
});

t.test('the check order of the fleet calls', async (t) => {
  const { url, server, call } = await fleetServer(t);
  const dave = sessionFor(server, DAVE.login);
  const unknownHash = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  for (const path of [P.profile, P.history, P.revert, P.bulk, P.summary]) {
    expectError(t, await call(path, { tracker_id: TELFM.trackerId }, 'NOT-HEX'), 'wrongHash', undefined, `${path}: 3`);
    expectError(t, await call(path, { tracker_id: TELFM.trackerId }, unknownHash), 'unknownCredential', undefined, `${path}: 4`);
    const viaV2 = await get(url, `v2/${path}/`, {
      hash: ALICE.apiKey,
      tracker_id: String(TELFM.trackerId),
      version: '1',
      tracking_settings: '{}',
      model: 'telfm',
      dry_run: '1',
    });
    // revert reaches its own check: tracker 1001 has no version 1 yet.
    if (path === P.revert) expectError(t, viaV2, 'invalidParameters', ['version'], `${path} under /v2/ with a trailing slash`);
    else expectOk(t, viaV2, `${path} under /v2/ with a trailing slash`);
  }
  // parameters (7) before the right (13) before visibility (201)
  expectError(t, await call(P.bulk, { tracking_settings: {} }, dave), 'invalidParameters', ['tracker_ids'], 'bulk: 7 before 13');
  expectError(t, await call(P.revert, { tracker_id: TELFM.trackerId }, dave), 'invalidParameters', ['version'], 'revert: 7 before 13');
  expectError(
    t,
    await call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: {}, request_id: '' }, dave),
    'invalidParameters',
    ['request_id'],
    'update: 7 before 13',
  );
  expectError(t, await call(P.bulk, { tracker_ids: [999_999], tracking_settings: {} }, dave), 'notPermitted', undefined, 'bulk: 13 for the whole call');
  expectError(t, await call(P.history, { tracker_id: 999_999, limit: 0 }), 'invalidParameters', ['limit'], 'history: 7 before 201');
  expectError(t, await call(P.history, { tracker_id: NUMBERS.trackerId }, dave), 'notFound', undefined, 'history: a sub-user sees only its bound trackers');
  expectError(t, await call(P.history, { tracker_id: BLOCKED.trackerId }, dave), 'deviceBlocked', undefined, 'history: 208');
  expectError(t, await call(P.history, { tracker_id: NO_PROFILE.trackerId }), 'notSupported', undefined, 'history: 214');
  expectError(t, await call(P.summary, { tracker_ids: [NUMBERS.trackerId] }, dave), 'notFound', undefined, 'sync_summary: 201 for a tracker not bound');
});
