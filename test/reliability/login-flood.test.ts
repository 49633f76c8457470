/**
 * A flood of bad logins must not starve other users (docs/reliability.md#7-hostile-clients): password
 * checks are bounded (a few at once, a bounded queue, then 15 at once), and the WAL flush every
 * answer waits for never queues behind them. Asserted as an order of events, never as durations.
 */
import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { expectError, expectOk } from '../helpers/http.js';
import { until } from '../helpers/mqtt.js';
import { post, startTestServer, type ApiAnswer } from '../helpers/server.js';

const badLogin = (url: string, i: number) => post(url, 'user/auth', { login: `nobody-${i}@example.com`, password: 'wrong' });

t.test('an update answers while a flood of bad logins is still being checked', async (t) => {
  // The real fsync (no stand-in): what matters is where it runs.
  const ts = await startTestServer(t);
  const FLOOD = 60;
  // Seen from the store: each bad login looks its user up right before its password check is queued.
  let checking = 0;
  const users = ts.server.store.users;
  const findByLogin = users.findByLogin.bind(users);
  users.findByLogin = (login) => {
    if (login.startsWith('nobody-')) checking++;
    return findByLogin(login);
  };
  let answered = 0;
  const flood = Array.from({ length: FLOOD }, (_, i) =>
    badLogin(ts.url, i).then((answer) => {
      answered++;
      return answer;
    }),
  );
  // Every login of the flood is running or queued for its password check before the update is sent.
  await until(() => checking >= FLOOD, 30_000, 'the flood to reach its password checks');

  const update = await post(ts.url, 'tracker/settings/tracking/update', {
    hash: ALICE.apiKey,
    tracker_id: TELFM.trackerId,
    tracking_settings: { ...VALID_TELFM, tracking_interval: 77 },
  });
  const answeredBeforeUpdate = answered;
  expectOk(t, update, 'the update (it waited for its WAL flush)');
  t.ok(answeredBeforeUpdate < FLOOD / 2, `the update answered when ${answeredBeforeUpdate} of ${FLOOD} bad logins were answered (fewer than half)`);
  const read = await post(ts.url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId });
  t.equal(expectOk(t, read, 'read').value.tracking_interval, 77, 'and read sees it');
  const codes = (await Promise.all(flood)).map((a: ApiAnswer) => a.body.status?.code as number);
  t.ok(
    codes.every((c) => c === 102 || c === 15),
    'the flood was answered 102 (or 15 past the queue)',
  );
});

t.test('past the queue of password checks, user/auth answers 15 at once', async (t) => {
  const ts = await startTestServer(t, { config: { login: { passwordChecks: 1, passwordCheckQueue: 2 } } });
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => badLogin(ts.url, i)));
  const codes = answers.map((a) => a.body.status.code as number);
  const checked = codes.filter((c) => c === 102).length;
  t.ok(checked >= 3 && checked < 12, `${checked} of 12 concurrent logins checked (1 running + 2 waiting at least)`);
  for (const answer of answers.filter((a) => a.body.status.code === 15)) expectError(t, answer, 'tooManyRequests', undefined, 'past the queue');
  t.equal(codes.filter((c) => c === 15).length, 12 - checked, 'the others: 15');
  // Nothing was counted against a login that was never checked, and the service still logs people in.
  expectOk(t, await post(ts.url, 'user/auth', { login: ALICE.login, password: ALICE.password }), 'a login after the flood');
});
