/**
 * user/auth, user/logout, sessions and API keys over a real socket: 102 answers the same for a wrong
 * password and an unknown login, 105 after too many failures (even with the right password),
 * logout ends a session (4) but never an API key, sessions expire after 30 days without use.
 * Logins cost a scrypt each: this file keeps them few.
 */
import t from 'tap';
import { digest } from '../../src/auth/crypto.js';
import { ALICE, CAROL, TELFM } from '../helpers/fleet.js';
import { expectError, expectOk, sessionFor } from '../helpers/http.js';
import { form, get, post, startTestServer } from '../helpers/server.js';

const DAY_MS = 86_400_000;

t.test('user/auth answers a session hash', async (t) => {
  const { url } = await startTestServer(t);
  const answer = await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password });
  expectOk(t, answer, 'login');
  t.strictSame(Object.keys(answer.body), ['success', 'type', 'hash'], "success, type and hash, in Navixy's order");
  t.equal(answer.body.type, 'authenticated', 'type as Navixy answers it');
  t.match(answer.body.hash, /^[0-9a-f]{32}$/, '32 lowercase hex');
  t.not(answer.body.hash, ALICE.apiKey, 'a new session, not the API key');
  const list = expectOk(t, await get(url, 'tracker/list', { hash: answer.body.hash as string }), 'the session works');
  t.ok(
    list.list.some((tracker: { id: number }) => tracker.id === TELFM.trackerId),
    'as alice',
  );

  // the login is case-insensitive, and works through a form too
  const viaForm = await form(url, 'user/auth', { login: CAROL.login.toUpperCase(), password: CAROL.password });
  expectOk(t, viaForm, 'form login, other case');
  const carolList = expectOk(t, await get(url, 'tracker/list', { hash: viaForm.body.hash as string }));
  t.strictSame(
    carolList.list.map((tr: { id: number }) => tr.id),
    [TELFM.trackerId],
    'as carol',
  );
});

t.test('102: a wrong password and an unknown login answer identically', async (t) => {
  const { url } = await startTestServer(t);
  const wrongPassword = await post(url, 'user/auth', { login: ALICE.login, password: 'not-the-password' });
  const unknownLogin = await post(url, 'user/auth', { login: 'nobody@example.com', password: ALICE.password });
  expectError(t, wrongPassword, 'wrongLogin', undefined, 'wrong password');
  expectError(t, unknownLogin, 'wrongLogin', undefined, 'unknown login');
  t.equal(unknownLogin.status, wrongPassword.status, 'same HTTP status');
  t.strictSame(unknownLogin.body, wrongPassword.body, 'same body');
  // another user's password is a wrong password too
  expectError(t, await post(url, 'user/auth', { login: ALICE.login, password: CAROL.password }), 'wrongLogin', undefined, "carol's password");
});

t.test('105 after too many failures, even with the right password', async (t) => {
  const { url } = await startTestServer(t, { config: { login: { maxFailures: 3, windowSeconds: 900 } } });
  for (let i = 1; i <= 3; i++) {
    expectError(t, await post(url, 'user/auth', { login: ALICE.login, password: `wrong-${i}` }), 'wrongLogin', undefined, `failure ${i}`);
  }
  expectError(t, await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password }), 'loginAttemptsExceeded', undefined, 'right password');
  expectError(
    t,
    await post(url, 'user/auth', { login: ALICE.login.toUpperCase(), password: ALICE.password }),
    'loginAttemptsExceeded',
    undefined,
    'same login in other case',
  );
  expectError(t, await post(url, 'user/auth', { login: ALICE.login, password: 'wrong-4' }), 'loginAttemptsExceeded', undefined, 'wrong password');
  // another login is not affected, and neither are alice's existing credentials
  expectOk(t, await post(url, 'user/auth', { login: CAROL.login, password: CAROL.password }), 'carol logs in');
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), "alice's API key still works");
});

t.test('105 counts failures for unknown logins too', async (t) => {
  const { url } = await startTestServer(t, { config: { login: { maxFailures: 2, windowSeconds: 900 } } });
  const login = 'nobody@example.com';
  expectError(t, await post(url, 'user/auth', { login, password: 'x1' }), 'wrongLogin', undefined, 'failure 1');
  expectError(t, await post(url, 'user/auth', { login, password: 'x2' }), 'wrongLogin', undefined, 'failure 2');
  expectError(t, await post(url, 'user/auth', { login, password: 'x3' }), 'loginAttemptsExceeded', undefined, 'then 105');
});

t.test('logout ends the session; API keys survive it', async (t) => {
  const { url, server } = await startTestServer(t);
  const hash = sessionFor(server, ALICE.login);
  const other = sessionFor(server, ALICE.login);
  expectOk(t, await get(url, 'tracker/list', { hash }), 'session works');
  const out = expectOk(t, await post(url, 'user/logout', { hash }), 'logout');
  t.strictSame(out, { success: true }, 'logout answers only success');
  expectError(t, await get(url, 'tracker/list', { hash }), 'unknownCredential', undefined, 'after logout');
  expectError(t, await post(url, 'user/logout', { hash }), 'unknownCredential', undefined, 'logout twice');
  expectOk(t, await get(url, 'tracker/list', { hash: other }), 'another session of the same user still works');
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), 'the API key still works');

  // logging out with the API key ends nothing
  expectOk(t, await post(url, 'user/logout', { hash: ALICE.apiKey }), 'logout with the API key');
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), 'the API key survives');
  expectOk(t, await get(url, 'tracker/list', { hash: other }), 'the session survives');
  expectError(t, await post(url, 'user/logout', {}), 'wrongHash', undefined, 'logout without a hash');
});

t.test('sessions expire after 30 days without use', async (t) => {
  const { url, server } = await startTestServer(t);
  const setLastUse = (hash: string, at: number) =>
    server.store.db.prepare('UPDATE sessions SET last_used_at = ? WHERE digest = ?').run(at, digest(hash)).changes;
  const lastUse = (hash: string) =>
    (server.store.db.prepare('SELECT last_used_at FROM sessions WHERE digest = ?').get(digest(hash)) as { last_used_at: number } | undefined)?.last_used_at;

  const fresh = await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password });
  const hash = expectOk(t, fresh, 'login').hash as string;
  t.equal(setLastUse(hash, Date.now() - 29 * DAY_MS), 1, 'session row found');
  expectOk(t, await get(url, 'tracker/list', { hash }), 'used 29 days ago: still valid');
  t.ok((lastUse(hash) ?? 0) > Date.now() - DAY_MS, 'using it refreshed its last use');

  t.equal(setLastUse(hash, Date.now() - 31 * DAY_MS), 1);
  expectError(t, await get(url, 'tracker/list', { hash }), 'unknownCredential', undefined, 'unused for 31 days');
  setLastUse(hash, Date.now());
  expectError(t, await get(url, 'tracker/list', { hash }), 'unknownCredential', undefined, 'an expired session stays ended');

  // API keys do not expire
  server.store.db.prepare('UPDATE api_keys SET created_at = ?').run(Date.now() - 400 * DAY_MS);
  expectOk(t, await get(url, 'tracker/list', { hash: ALICE.apiKey }), 'an old API key works');
});

t.test('user/session/renew starts the 30 idle days again; an API key has nothing to renew', async (t) => {
  const { url, server } = await startTestServer(t);
  const lastUse = (hash: string) =>
    (server.store.db.prepare('SELECT last_used_at FROM sessions WHERE digest = ?').get(digest(hash)) as { last_used_at: number } | undefined)?.last_used_at;
  // used 20 s ago: an ordinary call does not refresh it yet (at most once a minute), renew does
  const hash = '0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f';
  const usedAt = Date.now() - 20_000;
  server.store.users.createSession(digest(hash), server.store.users.findByLogin(ALICE.login)!.id, usedAt);
  expectOk(t, await get(url, 'tracker/list', { hash }), 'an ordinary call');
  t.equal(lastUse(hash), usedAt, 'an ordinary call within the minute leaves the last use');
  const renewed = expectOk(t, await post(url, 'user/session/renew', { hash }), 'renew');
  t.strictSame(renewed, { success: true }, 'renew answers only success');
  t.ok((lastUse(hash) ?? 0) > usedAt, 'renew set the last use to now');

  const keys = server.store.db.prepare('SELECT * FROM api_keys').all();
  t.strictSame(expectOk(t, await get(url, 'user/session/renew', { hash: ALICE.apiKey }), 'renew with an API key'), { success: true });
  t.strictSame(server.store.db.prepare('SELECT * FROM api_keys').all(), keys, 'API keys unchanged');
  expectError(t, await post(url, 'user/session/renew', {}), 'wrongHash', undefined, 'renew without a hash');
  await post(url, 'user/logout', { hash });
  expectError(t, await post(url, 'user/session/renew', { hash }), 'unknownCredential', undefined, 'an ended session cannot be renewed');
});

t.test('a concurrent burst of guesses gets at most maxFailures password checks, the right password included', async (t) => {
  const { url } = await startTestServer(t, { config: { login: { maxFailures: 10 } } });
  const guess = (i: number) => post(url, 'user/auth', { login: ALICE.login, password: `guess-${i}` });
  // 100 wrong guesses in flight at once, the right password among them.
  const burst = [
    ...Array.from({ length: 50 }, (_, i) => guess(i)),
    post(url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
    ...Array.from({ length: 50 }, (_, i) => guess(50 + i)),
  ];
  const answers = await Promise.all(burst);
  const codes = answers.map((a) => (a.body.success === true ? 0 : (a.body.status.code as number)));
  const checked = codes.filter((c) => c === 102 || c === 0).length;
  t.ok(checked <= 10, `${checked} of 101 concurrent logins were checked (102 or success): at most 10`);
  t.equal(codes.filter((c) => c === 105).length, 101 - checked, 'every other one answered 105');
  expectError(t, await post(url, 'user/auth', { login: ALICE.login, password: ALICE.password }), 'loginAttemptsExceeded', undefined, 'after the burst: 105');
});
