/**
 * src/cluster/redis-limits.ts against a real Redis: the token bucket refills on Redis' clock, a login
 * attempt counts from its admission until it is settled (as src/settings/login-throttle.ts), two
 * stores on one Redis share their counts, and no credential is stored in the clear.
 */
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { RedisLimits } from '../../src/cluster/redis-limits.js';
import { createLogger } from '../../src/logger.js';
import { eventually } from '../helpers/mqtt.js';
import { startRedis } from '../helpers/redis.js';

async function twoStores(t: Test) {
  const redis = await startRedis(t);
  const connect = async () => {
    const store = await RedisLimits.connect(redis.url, createLogger('silent'));
    t.teardown(() => store.close());
    return store;
  };
  const inspect = new Redis(redis.url);
  t.teardown(() => inspect.quit());
  return { a: await connect(), b: await connect(), inspect };
}

t.test('a shared token bucket: the burst across both stores, then a refill', async (t) => {
  const { a, b, inspect } = await twoStores(t);
  const hash = '0123456789abcdef0123456789abcdef';
  const onA = a.rateLimit('credential', 1, { burst: 2 });
  const onB = b.rateLimit('credential', 1, { burst: 2 });
  t.equal(onA.enabled, true, 'enabled');
  t.equal(await onA.take(hash), true, 'first token (A)');
  t.equal(await onB.take(hash), true, 'second token (B)');
  t.equal(await onA.take(hash), false, 'the burst is used up (A)');
  t.equal(await onB.take(hash), false, 'the burst is used up (B)');
  t.equal(await onB.take('another'), true, 'another key has its own bucket');
  await eventually(async () => (await onB.take(hash)) === true, 5_000, 'a token back after a second');
  t.pass('a token comes back');
  const keys = await inspect.keys('*');
  t.ok(keys.length > 0 && keys.every((key) => key.startsWith('trackconf:limit:') && !key.includes(hash)), `keys name a digest: ${keys.join(', ')}`);
  t.ok((await inspect.pttl(keys[0]!)) > 0, 'a bucket expires');
  const off = a.rateLimit('address', 0);
  t.equal(off.enabled, false, 'a limit of 0 is off');
  t.equal(off.take('x'), true, 'and answers at once, without Redis');
});

t.test('login attempts: admitted ones count until settled, failures count, success forgets them', async (t) => {
  const { a, b } = await twoStores(t);
  const gateA = a.loginThrottle(3, 900_000);
  const gateB = b.loginThrottle(3, 900_000);
  const first = await gateA.begin('Alice@example.com', 0);
  const second = await gateB.begin('alice@example.com', 0);
  const third = await gateA.begin('ALICE@example.com', 0);
  t.ok(first && second && third, 'three admitted across both stores, whatever the case');
  t.equal(await gateB.begin('alice@example.com', 0), undefined, 'a fourth in flight is refused');
  t.ok(await gateB.begin('bob@example.com', 0), 'another login is not');
  third!.cancel();
  await eventually(
    async () => {
      const again = await gateB.begin('alice@example.com', 0);
      again?.cancel();
      return again !== undefined;
    },
    5_000,
    'a cancelled attempt frees its slot',
  );
  t.pass('a cancelled attempt does not count');
  first!.fail(0);
  second!.fail(0);
  first!.fail(0); // settled once: not a third failure
  const fourth = await gateA.begin('alice@example.com', 0);
  t.ok(fourth, 'two failures: one more may be checked');
  fourth!.fail(0);
  await eventually(
    async () => {
      const refused = await gateB.begin('alice@example.com', 0);
      refused?.cancel();
      return refused === undefined;
    },
    5_000,
    'three failures refuse',
  );
  t.pass('three failures: refused on both stores');
  t.equal(await gateA.begin('alice@example.com', 0), undefined, 'on A too');
});

t.test('a success forgets the failures so far', async (t) => {
  const { a, b } = await twoStores(t);
  const gateA = a.loginThrottle(2, 900_000);
  const gateB = b.loginThrottle(2, 900_000);
  (await gateA.begin('carol', 0))!.fail(0);
  const right = await gateB.begin('carol', 0);
  t.ok(right, 'one failure: admitted');
  right!.succeed();
  await eventually(
    async () => {
      const one = await gateA.begin('carol', 0);
      const two = await gateB.begin('carol', 0);
      one?.cancel();
      two?.cancel();
      return one !== undefined && two !== undefined;
    },
    5_000,
    'both slots free again',
  );
  t.pass('after the success, the window is empty');
});
