import t from 'tap';
import { RateLimiter } from '../src/rate-limit.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  const at = { now: start };
  return { at, now: () => at.now };
}

t.test('a bucket holds a burst of perSecond and refills at perSecond', async (t) => {
  const c = clock();
  const limiter = new RateLimiter(3, c.now);
  t.same([limiter.take('k'), limiter.take('k'), limiter.take('k'), limiter.take('k')], [true, true, true, false], 'a burst of 3');
  t.ok(limiter.take('other'), 'keys have their own buckets');
  c.at.now += 300; // 0.9 token
  t.notOk(limiter.take('k'), 'less than one token back');
  c.at.now += 100; // 1.2 tokens
  t.ok(limiter.take('k'), 'a rate, not a ban');
  t.notOk(limiter.take('k'));
  c.at.now += 60_000;
  t.same([limiter.take('k'), limiter.take('k'), limiter.take('k'), limiter.take('k')], [true, true, true, false], 'never more than the burst');
});

t.test('0 disables the limit', async (t) => {
  const limiter = new RateLimiter(0, clock().now);
  t.notOk(limiter.enabled);
  for (let i = 0; i < 100; i++) if (!limiter.take('k')) t.fail('limited');
  t.pass('100 in the same instant pass');
});

t.test('idle buckets are forgotten: a returning key starts full', async (t) => {
  const c = clock();
  const limiter = new RateLimiter(1, c.now);
  t.ok(limiter.take('k'));
  t.notOk(limiter.take('k'));
  c.at.now += 20_000;
  t.ok(limiter.take('other'), 'the sweep runs on a take');
  t.equal((limiter as unknown as { buckets: Map<string, unknown> }).buckets.has('k'), false, 'the idle bucket was dropped');
  t.ok(limiter.take('k'));
});
