/**
 * Generated tracker payloads (docs/reliability.md#3-generated-bad-input): random bytes, random JSON and near-valid `ack` and
 * `reported` messages, through the DeviceService (in-process, many runs) and through the real
 * broker (a few hundred). Properties: never a throw, never a crash; stored settings and versions
 * never change; an answer changes the sync state only when it is a valid ack of the current
 * version; every payload is counted exactly once (applied, rejected, stale, reported or malformed).
 *
 * CI: seed 5150, 3,000 payloads in-process + 300 over MQTT. TRACKCONF_LONG_TESTS=1: 100,000 + 5,000.
 */
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { ALICE, ARRAYS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { LiteTracker } from '../helpers/lite-mqtt.js';
import { until as waitFor } from '../helpers/mqtt.js';
import { knob } from '../helpers/service.js';
import { post, startTestServer } from '../helpers/server.js';

const SEED = knob('TRACKCONF_FUZZ_SEED', 5150, 5150);
const RUNS = knob('TRACKCONF_FUZZ_TRACKER_RUNS', 3_000, 100_000);
const MQTT_RUNS = knob('TRACKCONF_FUZZ_MQTT_RUNS', 300, 5_000);

t.setTimeout(60_000 + RUNS * 5 + MQTT_RUNS * 20);

const anyJson = fc.jsonValue({ maxDepth: 5 });
const settings = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 70 }), anyJson, { maxKeys: 70 }),
  fc.constant({ ...VALID_TELFM }),
  fc.integer({ min: 1, max: 20_000 }).map((n) => ({ big: 'x'.repeat(n) })),
  anyJson,
);
const version = fc.oneof(
  fc.integer({ min: -2, max: 4 }),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e308, -0, 1.5, 2 ** 53),
  fc.string({ maxLength: 5 }),
  fc.constant(null),
);
const ack = fc.record(
  {
    version,
    status: fc.oneof(fc.constantFrom('applied', 'rejected'), fc.string({ maxLength: 10 }), anyJson),
    reason: fc.oneof(fc.string({ maxLength: 600 }), anyJson),
    settings,
    extra: anyJson,
  },
  { requiredKeys: [] },
);
const plausibleAck = fc.record(
  {
    version: fc.integer({ min: 1, max: 4 }),
    status: fc.constantFrom('applied', 'rejected'),
    reason: fc.string({ maxLength: 40 }),
    settings: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.integer(), fc.string({ maxLength: 10 })), { maxKeys: 6 }),
  },
  { requiredKeys: ['version', 'status'] },
);
const payload = fc.oneof(
  { weight: 3, arbitrary: plausibleAck.map((a) => Buffer.from(JSON.stringify(a))) },
  { weight: 4, arbitrary: ack.map((a) => Buffer.from(JSON.stringify(a))) },
  { weight: 2, arbitrary: fc.record({ settings }, { requiredKeys: [] }).map((r) => Buffer.from(JSON.stringify(r))) },
  { weight: 1, arbitrary: anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? '')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((d) => Buffer.from('['.repeat(d) + ']'.repeat(d))) },
);

async function check<T>(t: Test, property: fc.IAsyncProperty<T> | fc.IProperty<T>, numRuns: number): Promise<void> {
  const result = await fc.check(property as fc.IAsyncProperty<T>, { seed: SEED, numRuns, endOnFailure: true });
  if (!result.failed) return;
  const example = JSON.stringify(result.counterexample, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : Buffer.isBuffer(v) ? v.toString('base64').slice(0, 300) : v,
  );
  t.fail(`property failed (seed ${SEED}): ${String(result.errorInstance)}; counterexample ${example.slice(0, 2000)}`);
}

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

t.test(`tracker payloads through the DeviceService: ${RUNS} generated (seed ${SEED})`, async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const { server } = ts;
  for (let i = 0; i < 3; i++) {
    const answer = await post(ts.url, 'tracker/settings/tracking/update', {
      hash: ALICE.apiKey,
      tracker_id: TELFM.trackerId,
      tracking_settings: { ...VALID_TELFM, tracking_interval: 60 + i },
    });
    t.equal(answer.body.success, true, `version ${i + 1} stored`);
  }
  const device = server.store.trackers.findDevice(TELFM.deviceId)!;
  const stored = server.store.db.prepare<[number, number], { s: string }>(
    `SELECT (SELECT group_concat(version || ':' || settings, '|') FROM settings_versions WHERE device = ?)
       || '#' || (SELECT version || ':' || settings FROM device_sync WHERE device = ?) AS s`,
  );
  const syncState = server.store.db.prepare<[number], { state: string; version: number; reported: string | null }>(
    'SELECT state, version, reported FROM device_sync WHERE device = ?',
  );
  const before = stored.get(device.id, device.id)!.s;
  const outcomes = new Map<string, number>();

  await check(
    t,
    fc.property(fc.constantFrom('ack', 'reported') as fc.Arbitrary<'ack' | 'reported'>, payload, (kind, bytes) => {
      const counted = total({ ...server.devices.counters });
      const stateBefore = syncState.get(device.id)!;
      const outcome = kind === 'ack' ? server.devices.ack(TELFM.deviceId, bytes) : server.devices.reported(TELFM.deviceId, bytes);
      server.store.settings.flushPending(); // answers are written at the end of the event-loop turn
      outcomes.set(`${kind}:${outcome}`, (outcomes.get(`${kind}:${outcome}`) ?? 0) + 1);
      if (total({ ...server.devices.counters }) !== counted + 1) throw new Error('not counted exactly once');
      if (stored.get(device.id, device.id)!.s !== before) throw new Error('stored settings changed');
      const stateAfter = syncState.get(device.id)!;
      const allowed = outcome === 'applied' || outcome === 'rejected' || (outcome === 'reported' && stateAfter.state === stateBefore.state);
      if (!allowed && (stateAfter.state !== stateBefore.state || stateAfter.reported !== stateBefore.reported)) {
        throw new Error(`outcome ${outcome} changed the sync row`);
      }
      if ((outcome === 'applied' || outcome === 'rejected') && stateAfter.state !== outcome) throw new Error(`${outcome} but state ${stateAfter.state}`);
      if (stateAfter.reported !== null && stateAfter.reported.length > 8_192) throw new Error('unbounded reported settings stored');
    }),
    RUNS,
  );
  t.pass(`${RUNS} payloads: no throw, settings unchanged, each counted once`);
  t.ok(
    ['ack:applied', 'ack:rejected', 'ack:stale', 'ack:malformed', 'reported:reported', 'reported:malformed'].every((k) => outcomes.has(k)),
    'every outcome was reached',
  );
  t.comment(`tracker fuzz figures: seed=${SEED} payloads=${RUNS} outcomes=${JSON.stringify(Object.fromEntries(outcomes))}`);
});

t.test(`tracker payloads through the real broker: ${MQTT_RUNS} generated (seed ${SEED})`, async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  const { server } = ts;
  const port = server.ports.mqtt!;
  const answer = await post(ts.url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  t.equal(answer.body.success, true, 'version 1 stored');
  const bystander = await LiteTracker.connect(ARRAYS, { port });
  t.teardown(() => bystander.destroy());
  await bystander.subscribe();
  const tracker = await LiteTracker.connect(TELFM, { port, ack: false });
  t.teardown(() => tracker.destroy());
  const samples = fc.sample(fc.tuple(fc.constantFrom('ack', 'reported'), payload), { seed: SEED, numRuns: MQTT_RUNS });
  const countedBefore = total({ ...server.devices.counters });
  for (const [kind, bytes] of samples) tracker.publish(`trackers/${TELFM.deviceId}/config/tracking/${kind}`, bytes, 1);
  await waitFor(() => total({ ...server.devices.counters }) >= countedBefore + MQTT_RUNS, 30_000).catch(() => undefined);
  t.equal(total({ ...server.devices.counters }) - countedBefore, MQTT_RUNS, `all ${MQTT_RUNS} payloads processed and counted`);
  t.notOk(tracker.closed, 'the tracker stays connected (its own topics, payloads under the maximum)');
  const read = await post(ts.url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId });
  t.same(read.body.value, VALID_TELFM, 'settings unchanged');
  t.equal(read.body.sync.version, 1, 'version unchanged');
  const update = await post(ts.url, 'tracker/settings/tracking/update', {
    hash: ALICE.apiKey,
    tracker_id: ARRAYS.trackerId,
    tracking_settings: { tracking_interval: 60, sleep_mode: 'disabled' },
  });
  await waitFor(() => bystander.latest?.version === update.body.sync.version, 15_000).catch(() => undefined);
  t.equal(bystander.latest?.version, update.body.sync.version, 'another tracker still gets its config');
  t.comment(`tracker mqtt fuzz figures: seed=${SEED} payloads=${MQTT_RUNS} counters=${JSON.stringify(server.devices.counters)}`);
});
