/**
 * The durability gate (`Services.durable`): every answer, on the fast path and through fastify, is
 * written only once it says nothing is pending; a failing gate turns the answer into the error the
 * failure classifies as (1 for the database). Also the cached settings read answer: the same text as
 * JSON.stringify gives, reused while the row lives, renewed when it changes.
 */
import t, { type Test } from 'tap';
import { settingsAnswer } from '../../src/settings/views.js';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { exchange, PROBE, postBytes, type Exchange } from '../helpers/raw-http.js';
import { until } from '../helpers/mqtt.js';
import { startTwins } from '../helpers/twin-http.js';

const A = ALICE.apiKey;
const aliceRead = postBytes('/tracker/settings/tracking/read', JSON.stringify({ hash: A, tracker_id: TELFM.trackerId }));
const aliceUpdate = postBytes('/tracker/settings/tracking/update', JSON.stringify({ hash: A, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }));

t.test('answers wait for the durability gate on both paths', async (t) => {
  let gate: Promise<void> | undefined;
  let calls = 0;
  const twins = await startTwins(t, {}, () => {
    calls += 1;
    return gate;
  });
  const both = (parts: string[], count = 1) => Promise.all([exchange(twins.fast.port, parts, { count }), exchange(twins.fastify.port, parts, { count })]);
  const same = (t: Test, [fast, slow]: Exchange[], what: string) => {
    t.strictSame(
      fast!.responses.map((r) => r.text),
      slow!.responses.map((r) => r.text),
      `${what}: same bytes`,
    );
    return fast!.responses;
  };

  const [first] = same(t, await both([aliceRead]), 'nothing pending');
  t.equal(first?.status, 200, 'answered at once');
  t.equal(calls, 2, 'the gate is asked once per answer');

  let open: () => void = () => undefined;
  gate = new Promise<void>((resolve) => (open = resolve));
  let answered = 0;
  const onResponse = () => (answered += 1);
  const held = Promise.all([
    exchange(twins.fast.port, [aliceRead + aliceUpdate], { count: 2, onResponse }),
    exchange(twins.fastify.port, [aliceRead + aliceUpdate], { count: 2, onResponse }),
  ]);
  await until(() => calls >= 4, 10_000, 'both servers to ask the gate'); // each holds its answer on it now
  // An answer written past the gate would have been written by now: a round trip to each server
  // that the gate does not hold (node:http's own 400) brings anything sent before it.
  for (const port of [twins.fast.port, twins.fastify.port]) t.equal((await exchange(port, [PROBE])).responses[0]?.status, 400, 'a round trip meanwhile');
  t.equal(answered, 0, 'no answer while the gate is pending');
  gate = undefined;
  open();
  const answers = same(t, await held, 'after the gate opened');
  t.strictSame(
    answers.map((r) => r.status),
    [200, 200],
    'read and update answered, in order',
  );

  gate = Promise.reject(Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }));
  gate.catch(() => undefined);
  const failed = same(t, await both([aliceRead]), 'failing gate');
  t.equal(failed[0]?.status, 500, 'HTTP 500');
  t.strictSame(JSON.parse(failed[0]?.body ?? '{}'), { success: false, status: { code: 1, description: 'Database error' } }, 'code 1, no driver text');
  const malformed = same(t, await both([postBytes('/tracker/settings/tracking/read', '{')]), 'failing gate, unparsable body');
  t.equal(malformed[0]?.status, 500, 'the gate fails that one too');
});

t.test('the cached read answer is JSON.stringify of the answer, renewed with the row', async (t) => {
  const value = { tracking_interval: 60, sleep_mode: 'disabled' };
  const sync = { version: 2, state: 'applied' as const, changed_at: '2026-01-01T00:00:00.000Z', reported: { a: [1, 'x'] } };
  const text = settingsAnswer({ value, sync });
  t.equal(text, JSON.stringify({ success: true, value, sync }), 'same text, keys in order success, value, sync');
  t.equal(settingsAnswer({ value, sync }), text, 'a second read: the same text');
  const other = { tracking_interval: 90 };
  t.equal(settingsAnswer({ value: other, sync }), JSON.stringify({ success: true, value: other, sync }), 'another value object: serialized again');

  const twins = await startTwins(t);
  const read = async () =>
    JSON.parse((await exchange(twins.fast.port, [aliceRead])).responses[0]?.body ?? '{}') as { sync: { version: number }; value: unknown };
  t.equal((await read()).sync.version, 0, 'before any update');
  t.equal((await read()).sync.version, 0, 'again, unchanged');
  t.equal((await exchange(twins.fast.port, [aliceUpdate])).responses[0]?.status, 200, 'update');
  const after = await read();
  t.equal(after.sync.version, 1, 'the read after the update has the new version');
  t.strictSame(after.value, VALID_TELFM, 'and the new settings');
});
