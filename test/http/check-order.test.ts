/**
 * The check order of docs/api.md#order-of-checks: for each pair of neighbouring failing checks, the earlier one answers.
 * body too large (9) → unparsable (5) → unknown path (111) → credential (3, 4) → rate limit (15,
 * in rate-limit.test.ts) → parameters (7) → right (13) → visible (201) → blocked (208) →
 * profile (214) → clone (219) → settings (7).
 */
import t from 'tap';
import { ALICE, ARRAYS, BLOCKED, BOB, CLONE_ID, DAVE, NO_PROFILE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import {
  BLOCKED_NO_PROFILE,
  CLONE_OF_BLOCKED,
  CLONE_OF_NO_PROFILE,
  UNKNOWN_HASH,
  expectError,
  expectOk,
  extendedFleet,
  raw,
  sessionFor,
  NO_RATE_LIMIT,
} from '../helpers/http.js';
import { get, post, startTestServer } from '../helpers/server.js';

const READ = 'tracker/settings/tracking/read';
const UPDATE = 'tracker/settings/tracking/update';
const BAD_SETTINGS = { tracking_interval: 1, unknown_field: 1 };

t.test('check order', async (t) => {
  const { url, server } = await startTestServer(t, { fleet: extendedFleet(), config: NO_RATE_LIMIT });
  const alice = ALICE.apiKey;
  const bob = BOB.apiKey;
  const dave = sessionFor(server, DAVE.login);
  const postText = (path: string, body: string, type = 'application/json') => raw(url, path, { method: 'POST', headers: { 'content-type': type }, body });

  t.test('9 before 5: too large and unparsable', async (t) => {
    expectError(t, await postText(READ, `{"hash": "${alice}", "x": "${'x'.repeat(70_000)}"`), 'tooLarge', undefined, 'JSON');
    expectError(t, await postText(READ, `[${'1,'.repeat(40_000)}`), 'tooLarge', undefined, 'JSON that is not even an object');
    expectError(t, await postText('no/such/path', `{${'x'.repeat(70_000)}`), 'tooLarge', undefined, 'and unknown path');
    expectError(t, await postText(READ, `hash=${'x'.repeat(70_000)}&`, 'application/x-www-form-urlencoded'), 'tooLarge', undefined, 'form');
  });

  t.test('9 before 5: too large with an unsupported content type', async (t) => {
    expectError(t, await postText(READ, 'x'.repeat(70_000), 'text/html'), 'tooLarge', undefined, 'unknown content type');
  });

  t.test('5 before 111: unparsable and unknown path', async (t) => {
    expectError(t, await postText('no/such/path', `{"hash": "${alice}"`), 'wrongFormat', undefined, 'malformed JSON');
    expectError(t, await postText('v3/tracker/list', '[]'), 'wrongFormat', undefined, 'JSON array');
    expectError(t, await postText('no/such/path', 'null'), 'wrongFormat', undefined, 'JSON null');
    expectError(t, await postText('no/such/path', 'hash=x', 'application/xml'), 'wrongFormat', undefined, 'unknown content type');
  });

  t.test('111 before 3/4: unknown path and bad credential', async (t) => {
    expectError(t, await post(url, 'no/such/path', {}), 'wrongHandler', undefined, 'missing hash');
    expectError(t, await post(url, 'no/such/path', { hash: 'NOT-HEX' }), 'wrongHandler', undefined, 'malformed hash');
    expectError(t, await post(url, 'tracker/settings/tracking/delete', { hash: UNKNOWN_HASH }), 'wrongHandler', undefined, 'unknown hash');
  });

  t.test('5 before 3: unparsable body and no credential', async (t) => {
    expectError(t, await postText(READ, '{"tracker_id": 1001'), 'wrongFormat');
  });

  t.test('3/4 before 7: bad credential and invalid parameters', async (t) => {
    expectError(t, await post(url, READ, { hash: ALICE.apiKey.toUpperCase(), tracker_id: 'abc' }), 'wrongHash', undefined, 'malformed hash');
    expectError(t, await post(url, UPDATE, {}), 'wrongHash', undefined, 'no hash, no parameters');
    expectError(t, await post(url, READ, { hash: UNKNOWN_HASH, tracker_id: 'abc' }), 'unknownCredential', undefined, 'unknown hash');
  });

  t.test('7 before 13: invalid parameters and no right', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: 'abc', tracking_settings: VALID_TELFM }), 'invalidParameters', ['tracker_id']);
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: TELFM.trackerId }), 'invalidParameters', ['tracking_settings']);
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: TELFM.trackerId, tracking_settings: '[' }), 'invalidParameters', ['tracking_settings']);
  });

  t.test('13 before 201: no right and not visible', async (t) => {
    expectError(
      t,
      await post(url, UPDATE, { hash: dave, tracker_id: ARRAYS.trackerId, tracking_settings: {} }),
      'notPermitted',
      undefined,
      "alice's unbound tracker",
    );
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: 999_999, tracking_settings: {} }), 'notPermitted', undefined, 'nonexistent');
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: CLONE_ID, tracking_settings: {} }), 'notPermitted', undefined, "bob's clone");
    // reads need no right: the same tracker then answers 201
    expectError(t, await post(url, READ, { hash: dave, tracker_id: ARRAYS.trackerId }), 'notFound', undefined, 'read of the unbound tracker');
  });

  t.test('13 before 208 and settings: no right on a visible blocked tracker', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: BLOCKED.trackerId, tracking_settings: BAD_SETTINGS }), 'notPermitted');
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: TELFM.trackerId, tracking_settings: BAD_SETTINGS }), 'notPermitted');
  });

  t.test('201 before 208: a blocked tracker of another user', async (t) => {
    expectError(t, await post(url, READ, { hash: bob, tracker_id: BLOCKED.trackerId }), 'notFound', undefined, 'read');
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: BLOCKED.trackerId, tracking_settings: VALID_TELFM }), 'notFound', undefined, 'update');
    expectError(t, await post(url, 'tracker/read', { hash: bob, tracker_id: BLOCKED.trackerId }), 'notFound', undefined, 'tracker/read');
    expectError(
      t,
      await post(url, READ, { hash: alice, tracker_id: CLONE_OF_BLOCKED }),
      'notFound',
      undefined,
      "bob's clone of a blocked device, asked by alice",
    );
  });

  t.test('201 before 214 and settings', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: NO_PROFILE.trackerId, tracking_settings: {} }), 'notFound', undefined, 'no profile');
    expectError(t, await post(url, UPDATE, { hash: alice, tracker_id: 999_999, tracking_settings: BAD_SETTINGS }), 'notFound', undefined, 'bad settings');
  });

  t.test('208 before 214: a blocked device without a profile', async (t) => {
    expectError(t, await post(url, READ, { hash: alice, tracker_id: BLOCKED_NO_PROFILE.trackerId }), 'deviceBlocked', undefined, 'read');
    expectError(
      t,
      await post(url, UPDATE, { hash: alice, tracker_id: BLOCKED_NO_PROFILE.trackerId, tracking_settings: {} }),
      'deviceBlocked',
      undefined,
      'update',
    );
  });

  t.test('208 before 219 and settings: the clone of a blocked device', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: CLONE_OF_BLOCKED, tracking_settings: BAD_SETTINGS }), 'deviceBlocked');
    expectError(
      t,
      await post(url, UPDATE, { hash: alice, tracker_id: BLOCKED.trackerId, tracking_settings: BAD_SETTINGS }),
      'deviceBlocked',
      undefined,
      'the original',
    );
  });

  t.test('214 before 219: the clone of a device without a profile', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: CLONE_OF_NO_PROFILE, tracking_settings: {} }), 'notSupported', undefined, 'update');
    expectError(t, await post(url, READ, { hash: bob, tracker_id: CLONE_OF_NO_PROFILE }), 'notSupported', undefined, 'read');
  });

  t.test('214 before settings', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: alice, tracker_id: NO_PROFILE.trackerId, tracking_settings: BAD_SETTINGS }), 'notSupported');
  });

  t.test('219 before settings: bob sends invalid settings to his clone', async (t) => {
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: CLONE_ID, tracking_settings: BAD_SETTINGS }), 'notForClones', undefined, 'invalid');
    expectError(
      t,
      await post(url, UPDATE, { hash: bob, tracker_id: CLONE_ID, tracking_settings: { tracking_interval: 60 } }),
      'notForClones',
      undefined,
      'incomplete',
    );
    // the same settings on the original are the settings error
    expectError(
      t,
      await post(url, UPDATE, { hash: alice, tracker_id: TELFM.trackerId, tracking_settings: BAD_SETTINGS }),
      'invalidParameters',
      [
        'tracking_settings.tracking_angle',
        'tracking_settings.tracking_distance',
        'tracking_settings.tracking_interval',
        'tracking_settings.on_stop_tracking_interval',
        'tracking_settings.sleep_mode',
        'tracking_settings.stop_detection',
        'tracking_settings.unknown_field',
      ],
      'the original',
    );
  });

  t.test('the last check answers when all others pass', async (t) => {
    const read = expectOk(t, await get(url, READ, { hash: alice, tracker_id: String(TELFM.trackerId) }));
    t.strictSame(read.sync, { version: 0, state: 'none' }, 'no failed check above stored anything');
  });
});
