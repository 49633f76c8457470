/**
 * Who sees and changes what: tracker/list and tracker/read shapes for a master (alice), a user with a
 * clone (bob), a sub-user with the right tracker_configure (carol, bound to 1001) and one without
 * rights (dave, bound to 1001 and 1003).
 */
import t from 'tap';
import { ALICE, BLOCKED, BOB, CAROL, CLONE_ID, DAVE, OWN_DEVICES, TELFM, VALID_TELFM, type FleetDevice } from '../helpers/fleet.js';
import { NO_RATE_LIMIT, expectError, expectOk, sessionFor } from '../helpers/http.js';
import type { Server } from '../../src/server.js';
import { get, login, post, startTestServer } from '../helpers/server.js';
import { sqliteDb } from '../../src/store/index.js';

const READ = 'tracker/settings/tracking/read';
const UPDATE = 'tracker/settings/tracking/update';

/** Navixy's tracker object as the fleet has it: no groups, no phones (docs/api.md#the-tracker-object). */
function navixyTracker(server: Server, d: FleetDevice, tracker: { id: number; label: string; clone: boolean }) {
  const device = server.store.trackers.findDevice(d.deviceId)!;
  const createdAt = sqliteDb(server.store).prepare('SELECT created_at FROM devices WHERE id = ?').pluck().get(device.id) as string;
  return {
    ...tracker,
    group_id: 0,
    source: {
      id: device.id,
      device_id: d.deviceId,
      model: d.model,
      blocked: d === BLOCKED,
      tariff_id: 0,
      status_listing_id: null,
      creation_date: createdAt,
      tariff_end_date: null,
      phone: null,
    },
    tag_bindings: [],
  };
}

t.test('visibility and rights', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const own = (d: FleetDevice) => navixyTracker(server, d, { id: d.trackerId, label: `Tracker ${d.trackerId}`, clone: false });
  const BOBS_CLONE = navixyTracker(server, TELFM, { id: CLONE_ID, label: 'Truck 1 (shared)', clone: true });
  const alice = ALICE.apiKey;
  const bob = BOB.apiKey;
  const carol = await login(url, CAROL); // one real sub-user login
  const dave = sessionFor(server, DAVE.login);

  const expected: [string, string, unknown[]][] = [
    ['alice', alice, [...OWN_DEVICES].sort((a, b) => a.trackerId - b.trackerId).map(own)],
    ['bob', bob, [BOBS_CLONE]],
    ['carol', carol, [own(TELFM)]],
    ['dave', dave, [own(TELFM), own(BLOCKED)]],
  ];

  t.test('tracker/list and tracker/read shapes', async (t) => {
    for (const [who, hash, list] of expected) {
      const answer = expectOk(t, await get(url, 'tracker/list', { hash }), `${who} lists`);
      t.strictSame(Object.keys(answer).sort(), ['list', 'success'], `${who}: list answer fields`);
      t.strictSame(answer.list, list, `${who} sees exactly these trackers`);
      for (const tracker of list as { id: number }[]) {
        const read = expectOk(t, await post(url, 'tracker/read', { hash, tracker_id: tracker.id }), `${who} reads ${tracker.id}`);
        t.strictSame(read, { success: true, value: tracker }, `${who}: tracker/read ${tracker.id} is the list entry`);
      }
    }
  });

  t.test('bob sees his clone only, never the original', async (t) => {
    expectError(t, await post(url, 'tracker/read', { hash: bob, tracker_id: TELFM.trackerId }), 'notFound', undefined, 'tracker/read 1001');
    expectError(t, await post(url, READ, { hash: bob, tracker_id: TELFM.trackerId }), 'notFound', undefined, 'settings of 1001');
    expectError(t, await post(url, 'tracker/read', { hash: alice, tracker_id: CLONE_ID }), 'notFound', undefined, 'alice and the clone');
  });

  t.test('carol (tracker_configure, bound to 1001)', async (t) => {
    const sync = expectOk(t, await post(url, UPDATE, { hash: carol, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }), 'carol updates 1001').sync;
    t.equal(sync.version, 1);
    const changedBy = server.store.db
      .prepare(
        `SELECT u.login FROM settings_versions v JOIN devices d ON d.id = v.device JOIN users u ON u.id = v.changed_by
         WHERE d.device_id = ? AND v.version = 1`,
      )
      .get(TELFM.deviceId) as { login: string } | undefined;
    t.equal(changedBy?.login, CAROL.login, 'the version records carol as its author');
    for (const [who, hash, id] of [
      ['alice', alice, TELFM.trackerId],
      ['bob', bob, CLONE_ID],
      ['carol', carol, TELFM.trackerId],
    ] as const) {
      const read = expectOk(t, await post(url, READ, { hash, tracker_id: id }), `${who} reads`);
      t.strictSame(read.value, VALID_TELFM, `${who} sees carol's settings`);
      t.equal(read.sync.version, 1, `${who} sees version 1`);
    }
    for (const id of [BLOCKED.trackerId, 1005, CLONE_ID, 999_999]) {
      expectError(t, await post(url, 'tracker/read', { hash: carol, tracker_id: id }), 'notFound', undefined, `tracker/read ${id}`);
      expectError(t, await post(url, READ, { hash: carol, tracker_id: id }), 'notFound', undefined, `read ${id}`);
      expectError(
        t,
        await post(url, UPDATE, { hash: carol, tracker_id: id, tracking_settings: { tracking_interval: 90 } }),
        'notFound',
        undefined,
        `update ${id}`,
      );
    }
    expectError(
      t,
      await post(url, UPDATE, { hash: carol, tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 1 } }),
      'invalidParameters',
      ['tracking_settings.tracking_interval'],
      "carol's settings are checked like anyone's",
    );
  });

  t.test('dave (no rights, bound to 1001 and 1003)', async (t) => {
    const read = expectOk(t, await post(url, READ, { hash: dave, tracker_id: TELFM.trackerId }), 'dave reads 1001');
    t.strictSame(read.value, VALID_TELFM);
    const before = read.sync;
    expectError(
      t,
      await post(url, UPDATE, { hash: dave, tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 90 } }),
      'notPermitted',
      undefined,
      'dave updates 1001',
    );
    const after = expectOk(t, await post(url, READ, { hash: alice, tracker_id: TELFM.trackerId }));
    t.strictSame(after.sync, before, 'nothing changed');
    t.strictSame(after.value, VALID_TELFM, 'nothing changed');
    expectError(t, await post(url, READ, { hash: dave, tracker_id: BLOCKED.trackerId }), 'deviceBlocked', undefined, 'dave reads the blocked 1003');
    expectError(t, await post(url, READ, { hash: dave, tracker_id: 1005 }), 'notFound', undefined, 'dave reads unbound 1005');
  });

  t.test('the master keeps every right', async (t) => {
    const sync = expectOk(t, await post(url, UPDATE, { hash: alice, tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 90 } })).sync;
    t.equal(sync.version, 2, 'alice updates after carol');
    const read = expectOk(t, await get(url, READ, { hash: carol, tracker_id: String(TELFM.trackerId) }));
    t.strictSame(read.value, { ...VALID_TELFM, tracking_interval: 90 }, "carol sees alice's change");
  });
});
