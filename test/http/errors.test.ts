/**
 * Every error code of docs/errors.md over a real socket: HTTP status, code and exact description, and no
 * driver text or stack in 5xx answers. Rate limits (15) and logins (102, 105) are in rate-limit and
 * auth tests; check order is in check-order.test.ts.
 */
import Database from 'better-sqlite3';
import t from 'tap';
import { provision } from '../../src/settings/provisioning.js';
import { ALICE, BLOCKED, BOB, CAROL, CLONE_ID, DAVE, NO_PROFILE, TELFM, VALID_TELFM, ARRAYS } from '../helpers/fleet.js';
import { CLONE_OF_BLOCKED, CLONE_OF_NO_PROFILE, NO_RATE_LIMIT, UNKNOWN_HASH, expectError, expectOk, extendedFleet, raw, sessionFor } from '../helpers/http.js';
import { get, post, startTestServer } from '../helpers/server.js';
import { sqliteDb } from '../../src/store/index.js';

const READ = 'tracker/settings/tracking/read';
const UPDATE = 'tracker/settings/tracking/update';
/** Driver messages, JSON parser messages and stack frames that must never reach a client. */
const LEAKS = /not open|connection|sqlite|readonly|attempt to write|unexpected token|json|position|syntaxerror|typeerror|stack|\bat .*\(|\.ts:|\.js:/i;

t.test('1 Database error: the database closed under the server', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), 'before closing');
  sqliteDb(server.store).close();
  for (const answer of [await raw(url, `tracker/list?hash=${ALICE.apiKey}`), await raw(url, `${READ}?hash=${ALICE.apiKey}&tracker_id=${TELFM.trackerId}`)]) {
    expectError(t, answer, 'database');
    t.notMatch(answer.text, LEAKS, 'no driver text in the body');
    t.match(answer.headers.get('content-type'), /^application\/json/);
  }
});

t.test('1 Database error: a write the database refuses (SqliteError)', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  sqliteDb(server.store).pragma('query_only = ON');
  const answer = await raw(url, UPDATE, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }),
  });
  expectError(t, answer, 'database');
  t.notMatch(answer.text, LEAKS, 'no driver text in the body');
  sqliteDb(server.store).pragma('query_only = OFF');
  const read = expectOk(t, await get(url, READ, { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId) }));
  t.strictSame(read.sync, { version: 0, state: 'none' }, 'the refused write stored nothing');
});

t.test('6 Unexpected error: a stored row that does not parse', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  server.store.db
    .prepare(
      `INSERT INTO device_sync (device, version, settings, state, changed_at)
       SELECT id, 1, '{"tracking_interval": 60,', 'pending', '2024-01-01T00:00:00.000Z' FROM devices WHERE device_id = ?`,
    )
    .run(TELFM.deviceId);
  const read = await raw(url, `${READ}?hash=${ALICE.apiKey}&tracker_id=${TELFM.trackerId}`);
  expectError(t, read, 'unexpected', undefined, 'read');
  t.notMatch(read.text, LEAKS, 'read: no parser message in the body');
  const update = await raw(url, UPDATE, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 90 } }),
  });
  expectError(t, update, 'unexpected', undefined, 'update');
  t.notMatch(update.text, LEAKS, 'update: no parser message in the body');
  // the server keeps serving
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), 'still serving');
});

t.test('client errors on the standard fleet', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const carol = sessionFor(server, CAROL.login);
  const dave = sessionFor(server, DAVE.login);
  const alice = ALICE.apiKey;

  t.test('3 Wrong hash: missing or malformed', async (t) => {
    expectError(t, await post(url, 'tracker/list', {}), 'wrongHash', undefined, 'missing');
    expectError(t, await get(url, 'tracker/list', {}), 'wrongHash', undefined, 'missing (GET)');
    const malformed: [string, unknown][] = [
      ['too short', ALICE.apiKey.slice(0, 31)],
      ['too long', `${ALICE.apiKey}0`],
      ['uppercase', ALICE.apiKey.toUpperCase()],
      ['non-hex', 'g123456789abcdef0123456789abcdeg'],
      ['empty', ''],
      ['array', [ALICE.apiKey]],
      // biome-ignore lint/correctness/noPrecisionLoss: a number too big for a double is the point
      ['number', 12345678901234567890],
      ['object', { hash: ALICE.apiKey }],
      ['null', null],
    ];
    for (const [what, hash] of malformed) expectError(t, await post(url, 'tracker/list', { hash }), 'wrongHash', undefined, what);
    expectError(t, await raw(url, `tracker/list?hash=${ALICE.apiKey}&hash=${ALICE.apiKey}`), 'wrongHash', undefined, 'repeated in the query (array)');
    expectError(t, await get(url, 'tracker/list', {}, { authorization: `NVX ${ALICE.apiKey.toUpperCase()}` }), 'wrongHash', undefined, 'header');
    expectError(t, await get(url, 'tracker/list', {}, { authorization: `Bearer ${ALICE.apiKey}` }), 'wrongHash', undefined, 'other scheme');
  });

  t.test('4 unknown hash', async (t) => {
    expectError(t, await post(url, 'tracker/list', { hash: UNKNOWN_HASH }), 'unknownCredential', undefined, 'unknown');
    expectError(t, await get(url, READ, { hash: UNKNOWN_HASH, tracker_id: '1001' }), 'unknownCredential', undefined, 'unknown (read)');
    expectError(t, await get(url, 'tracker/list', {}, { authorization: `NVX ${UNKNOWN_HASH}` }), 'unknownCredential', undefined, 'header');
  });

  t.test('5 Wrong request format', async (t) => {
    const send = (body: string, type: string) => raw(url, 'tracker/list', { method: 'POST', headers: { 'content-type': type }, body });
    expectError(t, await send(`{"hash": "${alice}"`, 'application/json'), 'wrongFormat', undefined, 'malformed JSON');
    expectError(t, await send(`{hash: "${alice}"}`, 'application/json'), 'wrongFormat', undefined, 'unquoted key');
    expectError(t, await send(JSON.stringify([{ hash: alice }]), 'application/json'), 'wrongFormat', undefined, 'JSON array');
    expectError(t, await send(JSON.stringify(alice), 'application/json'), 'wrongFormat', undefined, 'JSON string');
    expectError(t, await send('42', 'application/json'), 'wrongFormat', undefined, 'JSON number');
    expectError(t, await send('', 'application/json'), 'wrongFormat', undefined, 'empty JSON body');
    expectError(t, await send(`hash=${alice}`, 'text/plain'), 'wrongFormat', undefined, 'text/plain');
    expectError(t, await send(`<hash>${alice}</hash>`, 'application/xml'), 'wrongFormat', undefined, 'application/xml');
    expectError(t, await send(`hash=${alice}`, 'nonsense'), 'wrongFormat', undefined, 'malformed content type');
  });

  t.test('7 Invalid parameters, naming each parameter', async (t) => {
    const read = (params: Record<string, unknown>) => post(url, READ, { hash: alice, ...params });
    expectError(t, await read({}), 'invalidParameters', ['tracker_id'], 'missing tracker_id');
    for (const bad of ['abc', '1e3', '0x1F', '-1', '1.5', '', ' 1001', '0', -1, 1.5, 0, true, [1001], { id: 1001 }, null]) {
      expectError(t, await read({ tracker_id: bad }), 'invalidParameters', ['tracker_id'], `tracker_id ${JSON.stringify(bad)}`);
    }
    for (const bad of ['abc', '1e3', '0x1F', '-1', '1.5']) {
      expectError(t, await get(url, READ, { hash: alice, tracker_id: bad }), 'invalidParameters', ['tracker_id'], `GET tracker_id ${bad}`);
    }
    expectError(t, await post(url, 'tracker/read', { hash: alice, tracker_id: 'abc' }), 'invalidParameters', ['tracker_id'], 'tracker/read');

    const update = (params: Record<string, unknown>) => post(url, UPDATE, { hash: alice, ...params });
    expectError(t, await update({ tracker_id: 1001 }), 'invalidParameters', ['tracking_settings'], 'missing tracking_settings');
    expectError(t, await update({ tracking_settings: VALID_TELFM }), 'invalidParameters', ['tracker_id'], 'update without tracker_id');
    expectError(t, await update({}), 'invalidParameters', ['tracker_id', 'tracking_settings'], 'update without anything');
    for (const bad of [5, 'text', '{"tracking_interval": 60', '[1, 2]', [VALID_TELFM], null, true]) {
      expectError(
        t,
        await update({ tracker_id: 1001, tracking_settings: bad }),
        'invalidParameters',
        ['tracking_settings'],
        `tracking_settings ${JSON.stringify(bad)}`,
      );
    }
    expectError(
      t,
      await get(url, UPDATE, { hash: alice, tracker_id: '1001', tracking_settings: '{not json}' }),
      'invalidParameters',
      ['tracking_settings'],
      'GET tracking_settings invalid JSON text',
    );
    expectError(t, await post(url, 'user/auth', { login: ALICE.login }), 'invalidParameters', ['password'], 'user/auth without password');
    expectError(t, await post(url, 'user/auth', {}), 'invalidParameters', ['login', 'password'], 'user/auth without anything');
  });

  t.test('9 Too large request (HTTP 412)', async (t) => {
    const big = 'x'.repeat(70 * 1024);
    expectError(t, await post(url, READ, { hash: alice, tracker_id: 1001, padding: big }), 'tooLarge', undefined, 'JSON');
    const answer = await raw(url, READ, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ hash: alice, tracker_id: '1001', padding: big }).toString(),
    });
    expectError(t, answer, 'tooLarge', undefined, 'form');
    // chunked, without a content-length: the limit still holds while reading
    const chunked = await raw(url, READ, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`{"hash": "${alice}", "padding": "${big}"}`));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expectError(t, chunked, 'tooLarge', undefined, 'chunked');
    // just under the limit is fine: the limit is 64 KiB, not less
    const under = await post(url, READ, { hash: alice, tracker_id: 1001, padding: 'x'.repeat(60 * 1024) });
    expectOk(t, under, 'a 60 KiB body');
  });

  t.test('13 Operation not permitted: a sub-user without the right updating', async (t) => {
    expectError(
      t,
      await post(url, UPDATE, { hash: dave, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }),
      'notPermitted',
      undefined,
      'dave 1001',
    );
    expectError(t, await post(url, UPDATE, { hash: dave, tracker_id: BLOCKED.trackerId, tracking_settings: {} }), 'notPermitted', undefined, 'dave 1003');
    const read = expectOk(t, await post(url, READ, { hash: alice, tracker_id: TELFM.trackerId }));
    t.strictSame(read.sync, { version: 0, state: 'none' }, 'nothing stored');
  });

  t.test('111 Wrong handler', async (t) => {
    const paths = ['tracker/lists', '', 'v3/tracker/list', 'v2/v2/tracker/list', 'tracker/settings/tracking', 'tracker', 'user/auth/x', 'health/x'];
    for (const path of paths) {
      expectError(t, await raw(url, `${path}?hash=${alice}`), 'wrongHandler', undefined, `GET /${path}`);
      expectError(t, await post(url, path, { hash: alice }), 'wrongHandler', undefined, `POST /${path}`);
    }
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const answer = await raw(url, 'tracker/list', {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hash: alice }),
      });
      expectError(t, answer, 'wrongHandler', undefined, method);
    }
  });

  t.test('201 Not found: not visible to the caller', async (t) => {
    const cases: [string, string, number][] = [
      ["another user's tracker", BOB.apiKey, TELFM.trackerId],
      ["another user's tracker (alice, bob's clone)", alice, CLONE_ID],
      ['nonexistent id', alice, 999_999],
      ['sub-user, unbound tracker', carol, BLOCKED.trackerId],
      ['sub-user, unbound tracker', carol, ARRAYS.trackerId],
      ['sub-user, unbound tracker', dave, ARRAYS.trackerId],
    ];
    for (const [what, hash, id] of cases) {
      expectError(t, await post(url, 'tracker/read', { hash, tracker_id: id }), 'notFound', undefined, `tracker/read ${what} ${id}`);
      expectError(t, await post(url, READ, { hash, tracker_id: id }), 'notFound', undefined, `read ${what} ${id}`);
      if (hash !== dave) {
        expectError(t, await post(url, UPDATE, { hash, tracker_id: id, tracking_settings: VALID_TELFM }), 'notFound', undefined, `update ${what} ${id}`);
      }
    }
  });

  t.test('208 Device blocked, for read and update', async (t) => {
    expectError(t, await post(url, READ, { hash: alice, tracker_id: BLOCKED.trackerId }), 'deviceBlocked', undefined, 'read');
    expectError(
      t,
      await post(url, UPDATE, { hash: alice, tracker_id: BLOCKED.trackerId, tracking_settings: { tracking_interval: 60 } }),
      'deviceBlocked',
      undefined,
      'update',
    );
    expectError(t, await post(url, READ, { hash: dave, tracker_id: BLOCKED.trackerId }), 'deviceBlocked', undefined, 'sub-user read');
    // the tracker object itself stays visible and says so
    const object = expectOk(t, await post(url, 'tracker/read', { hash: alice, tracker_id: BLOCKED.trackerId }));
    t.equal(object.value.source.blocked, true, 'tracker/read shows blocked');
  });

  t.test('214 Not supported: a model without a tracking profile', async (t) => {
    expectError(t, await post(url, READ, { hash: alice, tracker_id: NO_PROFILE.trackerId }), 'notSupported', undefined, 'read');
    expectError(
      t,
      await post(url, UPDATE, { hash: alice, tracker_id: NO_PROFILE.trackerId, tracking_settings: { tracking_interval: 60 } }),
      'notSupported',
      undefined,
      'update',
    );
    const object = expectOk(t, await post(url, 'tracker/read', { hash: alice, tracker_id: NO_PROFILE.trackerId }));
    t.equal(object.value.source.model, NO_PROFILE.model);
  });

  t.test('219 Not allowed for clones: bob updating his clone; reading it works', async (t) => {
    const bob = BOB.apiKey;
    const before = expectOk(t, await post(url, READ, { hash: bob, tracker_id: CLONE_ID }), 'clone read before');
    t.strictSame(before.value, {}, 'telfm has no defaults');
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: CLONE_ID, tracking_settings: VALID_TELFM }), 'notForClones');
    expectError(t, await post(url, UPDATE, { hash: bob, tracker_id: String(CLONE_ID), tracking_settings: { tracking_interval: 90 } }), 'notForClones');
    const still = expectOk(t, await post(url, READ, { hash: bob, tracker_id: CLONE_ID }));
    t.strictSame(still.sync, { version: 0, state: 'none' }, 'the refused update stored nothing');

    const updated = expectOk(t, await post(url, UPDATE, { hash: alice, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }));
    const original = expectOk(t, await post(url, READ, { hash: alice, tracker_id: TELFM.trackerId }));
    const clone = expectOk(t, await post(url, READ, { hash: bob, tracker_id: CLONE_ID }));
    t.strictSame(clone.value, VALID_TELFM, "the clone reads the device's settings");
    t.strictSame(clone.value, original.value, 'same settings as 1001');
    t.strictSame(clone.sync, original.sync, 'same sync as 1001');
    t.equal(clone.sync.version, updated.sync.version);
  });
});

t.test('208 and 214 for clones (extended fleet)', async (t) => {
  const { url } = await startTestServer(t, { fleet: extendedFleet(), config: NO_RATE_LIMIT });
  const bob = BOB.apiKey;
  expectError(t, await post(url, READ, { hash: bob, tracker_id: CLONE_OF_BLOCKED }), 'deviceBlocked', undefined, 'clone of a blocked device: read');
  expectError(
    t,
    await post(url, UPDATE, { hash: bob, tracker_id: CLONE_OF_BLOCKED, tracking_settings: { tracking_interval: 60 } }),
    'deviceBlocked',
    undefined,
    'clone of a blocked device: update',
  );
  const object = expectOk(t, await post(url, 'tracker/read', { hash: bob, tracker_id: CLONE_OF_BLOCKED }));
  t.match(object.value.source, { device_id: BLOCKED.deviceId, model: BLOCKED.model, blocked: true }, 'the clone shows the device blocked');
  expectError(t, await post(url, READ, { hash: bob, tracker_id: CLONE_OF_NO_PROFILE }), 'notSupported', undefined, 'clone of a no-profile device: read');
});

t.test('208 takes effect at once: blocked by an import while serving, or by another process', async (t) => {
  const { url, server, dbFile } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const alice = ALICE.apiKey;
  const bob = BOB.apiKey;
  const readAs = (hash: string, id: number) => post(url, READ, { hash, tracker_id: id });
  expectOk(t, await readAs(alice, TELFM.trackerId), 'served (and cached) before');
  expectOk(t, await readAs(bob, CLONE_ID), 'the clone too');

  const tracker = (blocked: boolean) => ({
    trackers: [{ id: TELFM.trackerId, owner: ALICE.login, label: 'Tracker 1001', model: TELFM.model, device_id: TELFM.deviceId, blocked }],
  });
  await provision(server.store, server.profiles, tracker(true));
  expectError(t, await readAs(alice, TELFM.trackerId), 'deviceBlocked', undefined, 'after the import: the tracker');
  expectError(t, await readAs(bob, CLONE_ID), 'deviceBlocked', undefined, 'after the import: the clone');
  await provision(server.store, server.profiles, tracker(false));
  expectOk(t, await readAs(alice, TELFM.trackerId), 'unblocked by the next import');

  const other = new Database(dbFile);
  t.teardown(() => other.close());
  other.prepare('UPDATE devices SET blocked = 1 WHERE device_id = ?').run(TELFM.deviceId);
  expectError(t, await readAs(alice, TELFM.trackerId), 'deviceBlocked', undefined, 'blocked by another connection');
  expectError(
    t,
    await post(url, UPDATE, { hash: alice, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }),
    'deviceBlocked',
    undefined,
    'update blocked by another connection',
  );
  other.prepare('UPDATE devices SET blocked = 0 WHERE device_id = ?').run(TELFM.deviceId);
  expectOk(t, await readAs(alice, TELFM.trackerId), 'unblocked by another connection');
  other.prepare('DELETE FROM api_keys').run();
  expectError(t, await readAs(alice, TELFM.trackerId), 'unknownCredential', undefined, 'API key removed by another connection');
});
