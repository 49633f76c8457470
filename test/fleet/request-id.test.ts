/**
 * Idempotent retries with `request_id` (docs/api.md#idempotent-retries-request_id): the same answer
 * and nothing stored again, per user, across a restart, for 24 hours (an injected clock), and 7
 * (`request_id`) for the same id with other parameters.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { buildHttpApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { openCore } from '../../src/server.js';
import { AuthService } from '../../src/settings/auth-service.js';
import { provision } from '../../src/settings/provisioning.js';
import { TrackerService } from '../../src/settings/tracker-service.js';
import { NO_PUBLISHER } from '../../src/settings/types.js';
import { ALICE, ARRAYS, CAROL, TELFM, VALID_TELFM, fleetFile } from '../helpers/fleet.js';
import { expectError, expectOk, NO_RATE_LIMIT, raw, sessionFor } from '../helpers/http.js';
import { form, post, startTestServer, tempDir } from '../helpers/server.js';
import { fleetServer, P } from './helpers.js';

const rows = (db: { prepare(sql: string): { get(): unknown } }) => (db.prepare('SELECT count(*) AS n FROM request_answers').get() as { n: number }).n;

t.test('a retry answers exactly the first answer and stores nothing', async (t) => {
  const { url, server, call, versions } = await fleetServer(t);
  const update = (params: Record<string, unknown>, hash?: string) =>
    call(P.update, { tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM, request_id: 'r-1', ...params }, hash);
  const first = expectOk(t, await update({}));
  t.equal(first.sync.version, 1);
  const again = await update({});
  t.strictSame(again.body, first, 'the same answer');
  t.equal(versions(TELFM.deviceId), 1, 'no second version');
  const viaForm = await form(url, P.update, {
    hash: ALICE.apiKey,
    tracker_id: String(TELFM.trackerId),
    tracking_settings: JSON.stringify(VALID_TELFM),
    request_id: 'r-1',
  });
  t.strictSame(viaForm.body, first, 'the same parameters in another encoding');

  expectError(t, await update({ tracking_settings: { ...VALID_TELFM, tracking_interval: 61 } }), 'invalidParameters', ['request_id'], 'other settings');
  expectError(t, await update({ tracker_id: ARRAYS.trackerId }), 'invalidParameters', ['request_id'], 'another tracker');
  expectError(t, await update({ expected_version: 0 }), 'invalidParameters', ['request_id'], 'with expected_version');
  expectError(
    t,
    await call(P.bulk, { tracker_ids: [TELFM.trackerId], tracking_settings: VALID_TELFM, request_id: 'r-1' }),
    'invalidParameters',
    ['request_id'],
    'another call',
  );
  t.equal(versions(TELFM.deviceId), 1);

  const carol = sessionFor(server, CAROL.login);
  const carols = expectOk(t, await update({}, carol), 'a sub-user is its own user');
  t.equal(carols.sync.version, 2);
  t.strictSame((await update({}, carol)).body, carols);

  // Concurrent duplicates (the same event-loop turn, the same group commit): one version.
  const answers = await Promise.all([1, 2, 3].map(() => update({ request_id: 'r-2', tracking_settings: { tracking_interval: 99 } })));
  for (const answer of answers) t.strictSame(answer.body, answers[0]!.body, 'every duplicate gets the one answer');
  t.equal(versions(TELFM.deviceId), 3, 'one version for three concurrent duplicates');

  // A failed call is not remembered; a dry run neither counts nor is answered from memory.
  expectError(t, await update({ request_id: 'r-3', tracking_settings: { tracking_interval: 1 } }), 'invalidParameters', [
    'tracking_settings.tracking_interval',
  ]);
  const dry = expectOk(t, await update({ request_id: 'r-3', tracking_settings: { tracking_interval: 98 }, dry_run: true }));
  t.equal(dry.dry_run, true);
  const real = expectOk(t, await update({ request_id: 'r-3', tracking_settings: { tracking_interval: 98 } }));
  t.strictSame(real.sync.version, 4, 'the real call after a failure and a dry run with the same id is made');
  const dryAgain = expectOk(t, await update({ request_id: 'r-3', tracking_settings: { tracking_interval: 98 }, dry_run: true }));
  t.strictSame(dryAgain.sync, { version: 5, state: 'none' }, 'a dry run is never answered from memory');

  for (const requestId of ['', 'x'.repeat(65), 'tab\there', 'é', 5]) {
    expectError(t, await update({ request_id: requestId }), 'invalidParameters', ['request_id'], `request_id ${JSON.stringify(requestId)}`);
  }
  t.equal(expectOk(t, await update({ request_id: 'x'.repeat(64), tracking_settings: {} })).sync.version, 5, '64 characters');

  // bulk_update too: the whole answer.
  const bulk = { tracker_ids: [TELFM.trackerId, ARRAYS.trackerId], tracking_settings: { tracking_interval: 97 }, request_id: 'b-1' };
  const bulkFirst = expectOk(t, await call(P.bulk, bulk));
  t.strictSame(bulkFirst.summary, { total: 2, updated: 1, failed: 1 });
  t.strictSame((await call(P.bulk, bulk)).body, bulkFirst);
  t.equal(versions(TELFM.deviceId), 6);
  expectError(t, await call(P.bulk, { ...bulk, tracker_ids: [TELFM.trackerId] }), 'invalidParameters', ['request_id']);
  const bulkDry = expectOk(t, await call(P.bulk, { ...bulk, dry_run: true }));
  t.equal(bulkDry.results[0].sync.version, 7, 'a bulk dry run with a used id runs');
});

t.test('after a restart the answer is still remembered', async (t) => {
  const first = await startTestServer(t, { config: NO_RATE_LIMIT });
  const params = { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM, request_id: 'restart-1' };
  const answer = expectOk(t, await post(first.url, P.update, params));
  await first.server.close();

  const second = await startTestServer(t, { dbFile: first.dbFile, fleet: null, config: NO_RATE_LIMIT });
  t.strictSame((await post(second.url, P.update, params)).body, answer, 'the same answer');
  const read = expectOk(t, await post(second.url, P.read, { hash: ALICE.apiKey, tracker_id: TELFM.trackerId }));
  t.equal(read.sync.version, 1, 'nothing stored again');
  expectError(t, await post(second.url, P.update, { ...params, tracking_settings: {} }), 'invalidParameters', ['request_id']);
});

t.test('answers expire after 24 hours (injected clock)', async (t) => {
  let now = Date.parse('2026-03-01T00:00:00.000Z');
  const clock = () => now;
  const config = loadConfig({}, { db: join(tempDir(t), 'trackconf.db'), logLevel: 'silent' });
  const { store, profiles } = await openCore(config);
  await provision(store, profiles, fleetFile());
  const auth = new AuthService(store, { sessionIdleMs: 30 * 86_400_000, maxLoginFailures: 10, loginWindowMs: 900_000, clock });
  const app = buildHttpApp(
    { auth, trackers: new TrackerService(store, profiles, NO_PUBLISHER, clock) },
    { bodyLimit: config.http.bodyLimit, rateLimitPerCredential: 0, rateLimitPerAddress: 0, logger: createLogger('silent'), isReady: () => true },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await app.close();
    store.close();
  });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const update = (settings: Record<string, unknown>) =>
    post(url, P.update, { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: settings, request_id: 'day-1' });

  const first = expectOk(t, await update(VALID_TELFM));
  now += 24 * 3_600_000 - 1;
  t.strictSame((await update(VALID_TELFM)).body, first, 'remembered just under 24 hours');
  expectError(t, await update({}), 'invalidParameters', ['request_id'], 'and still refused with other parameters');
  now += 1;
  const later = expectOk(t, await update(VALID_TELFM), 'after 24 hours the id is free again');
  t.equal(later.sync.version, 2, 'a new version');
  t.equal(later.sync.changed_at, new Date(now).toISOString());
  t.equal(rows(store.db), 1, 'the expired answer was replaced');
  now += 25 * 3_600_000;
  expectOk(t, await post(url, P.update, { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: {}, request_id: 'day-2' }));
  t.equal(rows(store.db), 1, 'expired answers are deleted');
});

t.test('a request_id with deeply nested settings is refused as a parameter, not a server error', async (t) => {
  const { url, versions } = await fleetServer(t);
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
  const body = `{"hash":"${ALICE.apiKey}","tracker_id":${TELFM.trackerId},"request_id":"deep-1","tracking_settings":{"tracking_interval":${deep}}}`;
  t.ok(body.length < 65_536, 'within the body limit');
  for (const path of [P.update, P.bulk]) {
    const text = path === P.bulk ? body.replace('"tracker_id":', '"model":"telfm","x":') : body;
    const refused = await raw(url, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    expectError(t, refused, 'invalidParameters', ['tracking_settings'], `${path}: deep nesting`);
  }
  t.equal(versions(TELFM.deviceId), 0);
});
