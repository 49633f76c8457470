/**
 * 15 (HTTP 429, docs/api.md#limits): per credential and per client address, with tiny limits so the buckets empty fast,
 * and where the rate limit sits in docs/api.md#order-of-checks (after the credential, before the parameters).
 */
import t, { type Test } from 'tap';
import { ALICE, BOB, TELFM } from '../helpers/fleet.js';
import { UNKNOWN_HASH, expectError, expectOk } from '../helpers/http.js';
import { get, post, startTestServer, type ApiAnswer } from '../helpers/server.js';

/** Sends `send` until it answers 429; returns how many succeeded before. */
async function exhaust(t: Test, send: () => Promise<ApiAnswer>, limit: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < limit * 5; i++) {
    const answer = await send();
    if (answer.status === 429) {
      expectError(t, answer, 'tooManyRequests', undefined, `after ${ok} requests`);
      return ok;
    }
    t.equal(answer.status, 200, 'below the limit');
    ok++;
  }
  t.fail(`no 429 after ${ok} requests`);
  return ok;
}

t.test('per credential', async (t) => {
  const { url } = await startTestServer(t, { config: { rateLimit: { perCredential: 3, perAddress: 0 } } });
  const list = (hash: string) => () => get(url, 'tracker/list', { hash });
  const passed = await exhaust(t, list(ALICE.apiKey), 3);
  t.ok(passed >= 3 && passed <= 4, `the first 3 pass (${passed})`);

  await exhaust(t, list(ALICE.apiKey), 3);
  expectOk(t, await get(url, 'tracker/list', { hash: BOB.apiKey }), 'another credential is not limited');

  await exhaust(t, list(ALICE.apiKey), 3);
  expectError(
    t,
    await post(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: 'abc' }),
    'tooManyRequests',
    undefined,
    'rate limited + invalid parameters',
  );
  expectError(t, await get(url, 'tracker/list', { hash: UNKNOWN_HASH }), 'unknownCredential', undefined, 'unknown hash: 4, not 15');
  expectError(t, await get(url, 'no/such/call', { hash: ALICE.apiKey }), 'wrongHandler', undefined, 'unknown path: 111, not 15');
  // that the bucket refills (a rate, not a ban) is checked with a clock in test/rate-limit.test.ts
});

t.test('per address', async (t) => {
  const { url } = await startTestServer(t, { config: { rateLimit: { perCredential: 0, perAddress: 3 } } });
  const passed = await exhaust(t, () => get(url, 'tracker/list', { hash: ALICE.apiKey }), 3);
  t.ok(passed >= 3 && passed <= 4, `the first 3 pass (${passed})`);

  await exhaust(t, () => get(url, 'tracker/list', { hash: ALICE.apiKey }), 3);
  expectError(t, await get(url, 'tracker/list', { hash: BOB.apiKey }), 'tooManyRequests', undefined, 'another credential, same address');

  await exhaust(t, () => get(url, 'tracker/list', { hash: ALICE.apiKey }), 3);
  expectError(
    t,
    await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
    'tooManyRequests',
    undefined,
    'user/auth is limited per address too',
  );
  expectError(
    t,
    await post(url, 'tracker/settings/tracking/update', { hash: BOB.apiKey, tracker_id: TELFM.trackerId, tracking_settings: 'x' }),
    'tooManyRequests',
    undefined,
    'rate limited + invalid parameters',
  );
  expectError(t, await get(url, 'tracker/list', { hash: 'NOT-A-HASH' }), 'wrongHash', undefined, 'malformed hash: 3 before 15');
});

t.test('the default limit lets a normal burst through', async (t) => {
  const { url } = await startTestServer(t);
  const answers = await Promise.all(Array.from({ length: 20 }, () => get(url, 'tracker/list', { hash: ALICE.apiKey })));
  t.strictSame(
    answers.map((a) => a.status),
    Array(20).fill(200),
    '20 parallel requests pass under the default 50/s',
  );
});
