/**
 * Navixy clients' call sequences replayed unchanged against the real server over sockets, every
 * answer checked against the strict schemas of Navixy's documented objects (navixy-schemas.ts):
 * the JavaScript SDK (axios, form-encoded, objects as JSON text), a typed JSON client, a GET-only
 * client with trailing slashes, the `labels` filter and tracker groups.
 */
import t from 'tap';
import type { Test } from 'tap';
import type { z } from 'zod';
import { ALICE, BOB, CAROL, DAVE, NUMBERS, TELFM, CLONE_ID, FORMATS, fleetFile } from '../helpers/fleet.js';
import { NO_RATE_LIMIT, expectError, sessionFor } from '../helpers/http.js';
import { get, post, startTestServer, type ApiAnswer } from '../helpers/server.js';
import { answers, errorSchema, type NavixyGroup, type NavixyTracker } from './navixy-schemas.js';

const PHONE = '+447700900123';

/** The standard fleet with groups, a phone and labels to filter on. */
function compatFleet() {
  const base = fleetFile();
  const labels: Record<number, string> = { [TELFM.trackerId]: 'Truck North 1', [NUMBERS.trackerId]: 'VAN north', [FORMATS.trackerId]: 'Trailer Ångström' };
  return {
    ...base,
    groups: [
      { id: 7, owner: ALICE.login, title: 'North depot', color: '1E96DC' },
      { id: 8, owner: ALICE.login, title: 'South depot' },
      { id: 9, owner: BOB.login, title: "Bob's yard", color: 'ff8800' },
    ],
    trackers: base.trackers.map((tracker) => ({
      ...tracker,
      ...(labels[tracker.id] !== undefined && { label: labels[tracker.id] }),
      ...(tracker.id === TELFM.trackerId && { group_id: 7, phone: PHONE }),
      ...(tracker.id === NUMBERS.trackerId && { group_id: 8 }),
      ...(tracker.id === CLONE_ID && { group_id: 9 }),
    })),
  };
}

/** Parses a success answer with its Navixy schema; fails the test with the body when it does not fit. */
function parsed<S extends z.ZodType>(t: Test, answer: ApiAnswer, schema: S, what: string): z.output<S> {
  t.equal(answer.status, 200, `${what}: HTTP 200`);
  const result = schema.safeParse(answer.body);
  t.ok(result.success, `${what}: fits Navixy's schema${result.success ? '' : `\n${JSON.stringify(result.error.issues)}\n${JSON.stringify(answer.body)}`}`);
  if (!result.success) throw new Error(`${what}: does not fit`);
  return result.data;
}

/**
 * What the JavaScript SDK sends: a POST with axios, `application/x-www-form-urlencoded`, every
 * parameter a field and an object or array as JSON text.
 */
async function sdkPost(url: string, path: string, params: Record<string, unknown>, charset = false): Promise<ApiAnswer> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) body.append(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  const response = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': `application/x-www-form-urlencoded${charset ? ';charset=utf-8' : ''}`, accept: 'application/json, text/plain, */*' },
    body: body.toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any>, headers: response.headers };
}

const ids = (list: readonly { id: number }[]) => list.map((item) => item.id);

t.test('Navixy client sequences', async (t) => {
  const { url, server } = await startTestServer(t, { fleet: compatFleet(), config: NO_RATE_LIMIT });
  const aliceId = server.store.users.findByLogin(ALICE.login)!.id;

  t.test('JavaScript SDK: form-encoded user/auth → tracker/list → user/get_info', async (t) => {
    const auth = parsed(t, await sdkPost(url, 'user/auth', { login: ALICE.login, password: ALICE.password }, true), answers.auth, 'user/auth');
    const list = parsed(t, await sdkPost(url, 'tracker/list', { hash: auth.hash }), answers.trackerList, 'tracker/list').list;
    t.strictSame(ids(list), [1001, 1003, 1004, 1005, 1006, 1007], "alice's trackers");
    const truck = list.find((tracker) => tracker.id === TELFM.trackerId)!;
    t.equal(truck.group_id, 7, 'group_id of its group');
    t.equal(truck.source.phone, PHONE, "the device's phone");
    t.equal(list.find((tracker) => tracker.id === 1003)!.group_id, 0, '0: no group');

    const info = parsed(t, await sdkPost(url, 'user/get_info', { hash: auth.hash }), answers.userInfo, 'user/get_info').user_info;
    t.equal(info.id, aliceId, "the user's id");
    t.equal(info.login, ALICE.login, 'the login');
    t.match(info, { title: ALICE.login, legal_type: 'individual', locale: 'en_US', time_zone: 'UTC', demo: false }, 'neutral values');
  });

  t.test('typed JSON client: user/auth → tracker/list → GET tracker/read → tracker/settings/tracking/read', async (t) => {
    const auth = parsed(t, await post(url, 'user/auth', { login: BOB.login, password: BOB.password }), answers.auth, 'user/auth');
    const list: NavixyTracker[] = parsed(t, await post(url, 'tracker/list', { hash: auth.hash }), answers.trackerList, 'tracker/list').list;
    t.equal(list.length, 1, "bob's clone");
    const clone = list[0]!;
    t.ok(Number.isSafeInteger(clone.source.id), 'source.id: an integer');
    t.equal(clone.clone, true);
    t.equal(clone.group_id, 9, "bob's own group for his clone");
    t.equal(clone.source.phone, PHONE, "a clone shows its device's phone");
    const value = parsed(t, await get(url, 'tracker/read', { hash: auth.hash, tracker_id: String(clone.id) }), answers.trackerRead, 'tracker/read').value;
    t.strictSame(value, clone, 'tracker/read is the list entry');
    const settings = parsed(
      t,
      await post(url, 'tracker/settings/tracking/read', { hash: auth.hash, tracker_id: clone.id }),
      answers.settingsRead,
      'tracker/settings/tracking/read',
    );
    t.type(settings.value, 'object');

    // the original's source is the same device: same id, creation date and phone
    const original = parsed(
      t,
      await get(url, 'tracker/read', { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId) }),
      answers.trackerRead,
      'original',
    ).value;
    t.strictSame(original.source, clone.source, 'one device, one source');
  });

  t.test('GET client: user/auth?login&password → user/session/renew → the calls with trailing slashes', async (t) => {
    const auth = parsed(t, await get(url, 'user/auth', { login: ALICE.login, password: ALICE.password }), answers.auth, 'GET user/auth');
    const { hash } = auth;
    parsed(t, await get(url, 'user/session/renew', { hash }), answers.empty, 'user/session/renew');
    parsed(t, await get(url, 'user/session/renew/', { hash }), answers.empty, 'user/session/renew/');
    const list = parsed(t, await get(url, 'tracker/list/', { hash }), answers.trackerList, 'tracker/list/').list;
    t.equal(list.length, 6);
    parsed(t, await get(url, 'tracker/read/', { hash, tracker_id: String(TELFM.trackerId) }), answers.trackerRead, 'tracker/read/');
    parsed(t, await get(url, 'tracker/settings/tracking/read/', { hash, tracker_id: String(TELFM.trackerId) }), answers.settingsRead, 'settings read/');
    parsed(t, await get(url, 'user/get_info/', { hash }), answers.userInfo, 'user/get_info/');
    parsed(t, await get(url, 'tracker/group/list/', { hash }), answers.groupList, 'tracker/group/list/');
    parsed(t, await get(url, 'user/logout/', { hash }), answers.empty, 'user/logout/');
    expectError(t, await get(url, 'tracker/list/', { hash }), 'unknownCredential', undefined, 'after logout');
  });

  t.test('tracker/list with labels: any of them, case-insensitive, in every encoding', async (t) => {
    const hash = ALICE.apiKey;
    const cases: [string, () => Promise<ApiAnswer>, number[]][] = [
      ['JSON array', () => post(url, 'tracker/list', { hash, labels: ['NORTH'] }), [1001, 1006]],
      ['JSON array, two labels', () => post(url, 'tracker/list', { hash, labels: ['van', 'tracker 1004'] }), [1004, 1006]],
      ['form, JSON text (SDK)', () => sdkPost(url, 'tracker/list', { hash, labels: ['truck'] }), [1001]],
      ['GET, JSON text', () => get(url, 'tracker/list', { hash, labels: JSON.stringify(['ÅNGSTRÖM']) }), [1007]],
      ['no match', () => post(url, 'tracker/list', { hash, labels: ['nothing like it'] }), []],
    ];
    for (const [what, call, expected] of cases) {
      const list = parsed(t, await call(), answers.trackerList, what).list;
      t.strictSame(ids(list), expected, `${what}: ${expected.join(', ') || 'none'}`);
    }
    const sub = parsed(
      t,
      await post(url, 'tracker/list', { hash: sessionFor(server, DAVE.login), labels: ['TRUCK', 'tracker'] }),
      answers.trackerList,
      'dave',
    ).list;
    t.strictSame(ids(sub), [1001, 1003], 'a sub-user filters among the trackers bound to it');

    for (const [what, labels] of [
      ['a string, not a list', 'north'],
      ['a number in the list', [1]],
      ['an empty label', ['']],
      ['an empty list', []],
      ['an object', { a: 'north' }],
      ['broken JSON text', '["north"'],
    ] as const) {
      const answer = await post(url, 'tracker/list', { hash, labels });
      t.ok(errorSchema.safeParse(answer.body).success, `${what}: Navixy's error shape`);
      expectError(t, answer, 'invalidParameters', ['labels'], what);
    }
    expectError(t, await get(url, 'tracker/list', { hash, labels: 'north' }), 'invalidParameters', ['labels'], 'GET: not JSON text');
  });

  t.test("tracker/group/list for a master and for a sub-user (its master's groups)", async (t) => {
    const expected: NavixyGroup[] = [
      { id: 7, title: 'North depot', color: '1E96DC' },
      { id: 8, title: 'South depot', color: '1E96DC' },
    ];
    const alice = parsed(t, await post(url, 'tracker/group/list', { hash: ALICE.apiKey }), answers.groupList, 'alice').list;
    t.strictSame(alice, expected, "alice's groups, by id");
    const carolHash = parsed(t, await sdkPost(url, 'user/auth', { login: CAROL.login, password: CAROL.password }), answers.auth, 'carol logs in').hash;
    const carol = parsed(t, await sdkPost(url, 'tracker/group/list', { hash: carolHash }), answers.groupList, 'carol').list;
    t.strictSame(carol, expected, "carol sees alice's groups");
    const carolInfo = parsed(t, await sdkPost(url, 'user/get_info', { hash: carolHash }), answers.userInfo, 'carol get_info').user_info;
    t.equal(carolInfo.login, CAROL.login, "a sub-user's own user_info");
    const bob = parsed(t, await get(url, 'tracker/group/list', { hash: BOB.apiKey }), answers.groupList, 'bob').list;
    t.strictSame(bob, [{ id: 9, title: "Bob's yard", color: 'FF8800' }], "bob's own group only");
  });

  t.test('every other Navixy call answers 111', async (t) => {
    for (const path of ['tracker/get_state', 'tracker/get_last_gps_point', 'tracker/employee/read', 'history/tracker/list', 'user/settings/read', 'tag/list']) {
      const answer = await post(url, path, { hash: ALICE.apiKey, tracker_id: TELFM.trackerId });
      t.ok(errorSchema.safeParse(answer.body).success, `${path}: Navixy's error shape`);
      expectError(t, answer, 'wrongHandler', undefined, path);
    }
  });
});
