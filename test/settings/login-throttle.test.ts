/**
 * LoginThrottle with an injected clock (times are plain numbers, never the wall clock): attempts
 * count from the moment they are admitted, so a burst of concurrent guesses gets at most
 * `maxFailures` password checks per window, the right password included.
 */
import t from 'tap';
import { LoginThrottle, type LoginAttempt } from '../../src/settings/login-throttle.js';

const WINDOW = 900_000;

t.test('attempts in flight count: a burst is admitted only up to maxFailures', async (t) => {
  const throttle = new LoginThrottle(10, WINDOW);
  const admitted: LoginAttempt[] = [];
  let refused = 0;
  for (let i = 0; i < 1_000; i++) {
    const attempt = throttle.begin('alice@example.com', 1_000);
    if (attempt) admitted.push(attempt);
    else refused++;
  }
  t.equal(admitted.length, 10, '10 of 1,000 concurrent attempts are admitted');
  t.equal(refused, 990, 'the rest are refused before any password check');
  t.ok(throttle.isBlocked('ALICE@example.com', 1_000), 'blocked while they are in flight (any case)');
  for (const attempt of admitted) attempt.fail(1_001);
  t.equal(throttle.begin('alice@example.com', 1_002), undefined, 'the right password arriving after the burst is refused too');
  t.ok(throttle.begin('carol@example.com', 1_002), 'another login is not affected');
});

t.test('the window slides with the injected clock', async (t) => {
  const throttle = new LoginThrottle(3, WINDOW);
  for (const at of [0, 10, 20]) throttle.begin('bob', at)!.fail(at);
  t.ok(throttle.isBlocked('bob', 20));
  t.equal(throttle.begin('bob', WINDOW - 1), undefined, 'still blocked just before the first failure leaves the window');
  const next = throttle.begin('bob', WINDOW);
  t.ok(next, 'one attempt admitted once the first failure has left the window');
  t.equal(throttle.begin('bob', WINDOW), undefined, 'and only one');
  next!.fail(WINDOW);
  t.equal(throttle.begin('bob', WINDOW + 5), undefined, 'failures at 10, 20 and WINDOW fill it again');
  t.ok(throttle.begin('bob', WINDOW + 20 + WINDOW), 'free again when every failure is older than the window');
});

t.test('a success forgets the failures recorded so far, not those still in flight', async (t) => {
  const throttle = new LoginThrottle(3, WINDOW);
  throttle.begin('dave', 0)!.fail(0);
  const right = throttle.begin('dave', 1)!;
  const wrong = throttle.begin('dave', 1)!;
  t.equal(throttle.begin('dave', 1), undefined, '1 failure + 2 in flight = 3: full');
  right.succeed();
  t.notOk(throttle.isBlocked('dave', 2), 'the success cleared the recorded failure');
  wrong.fail(3);
  const a = throttle.begin('dave', 4)!;
  const b = throttle.begin('dave', 4)!;
  t.equal(throttle.begin('dave', 4), undefined, 'the failure that was in flight still counts');
  a.fail(5);
  b.fail(5);
  t.ok(throttle.isBlocked('dave', 6));
});

t.test('a cancelled attempt (never checked) does not count; settling twice counts once', async (t) => {
  const throttle = new LoginThrottle(2, WINDOW);
  const cancelled = throttle.begin('erin', 0)!;
  cancelled.cancel();
  cancelled.fail(0);
  const first = throttle.begin('erin', 1)!;
  first.fail(1);
  first.fail(1);
  t.notOk(throttle.isBlocked('erin', 2), 'one failure of two');
  throttle.begin('erin', 2)!.fail(2);
  t.ok(throttle.isBlocked('erin', 3));
});

t.test('memory stays bounded under a spray of logins; logins with checks in flight are kept', async (t) => {
  const throttle = new LoginThrottle(1, WINDOW, 100);
  const held = throttle.begin('victim', 0)!;
  for (let i = 0; i < 1_000; i++) throttle.begin(`spray-${i}`, 1)!.fail(1);
  t.equal(throttle.begin('victim', 2), undefined, 'the attempt in flight was not forgotten');
  held.fail(3);
  t.ok(throttle.isBlocked('victim', 4), 'and its failure was recorded');
  t.ok(throttle.isBlocked('spray-999', 4), 'the newest logins are remembered');
  t.notOk(throttle.isBlocked('spray-0', 4), 'the oldest were forgotten');
});
