/**
 * A tracker must not be able to fill the disk or the log (docs/mqtt.md#limits-on-what-a-tracker-sends):
 * its acks and reports are rate limited (the excess dropped and counted), its stored acks are kept
 * to the newest `acksKept`, dropped payloads are logged once per device per interval, and a deeply
 * nested payload is refused on its bytes, before any parser walks it (no error, no stack trace).
 * The flood of stale acks over MQTT, with its figures: stale-ack-flood.test.ts.
 */
import t from 'tap';
import type { Client, AedesPublishPacket } from 'aedes';
import type { Logger } from '../../src/logger.js';
import { BrokerHooks } from '../../src/broker/hooks.js';
import { ConfigCache } from '../../src/broker/config-cache.js';
import { RateLimiter } from '../../src/rate-limit.js';
import { nestingWithin } from '../../src/settings/answer-limits.js';
import { AuthService } from '../../src/settings/auth-service.js';
import { DeviceService } from '../../src/settings/device-service.js';
import { ThrottledAnswerLog } from '../../src/broker/answer-log.js';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { post, startTestServer, type TestServer } from '../helpers/server.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

interface Line {
  readonly level: 'warn' | 'error' | 'info';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

/** A Logger that keeps what it was given. */
function recordingLogger(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (fields: Record<string, unknown> | string, msg?: string) => {
    lines.push(typeof fields === 'string' ? { level, fields: {}, msg: fields } : { level, fields, msg: msg ?? '' });
  };
  const log = { warn: at('warn'), error: at('error'), info: at('info'), debug: () => undefined } as unknown as Logger;
  return { log, lines };
}

/** Version 1 of TELFM stored, so that acks of it are current and of nothing older. */
async function withVersions(ts: TestServer, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const answer = await post(ts.url, 'tracker/settings/tracking/update', {
      hash: ALICE.apiKey,
      tracker_id: TELFM.trackerId,
      tracking_settings: { ...VALID_TELFM, tracking_interval: 60 + i },
    });
    if (answer.body.success !== true) throw new Error(`update refused: ${JSON.stringify(answer.body)}`);
  }
}

const staleAck = (reason = 'x'.repeat(512)) => Buffer.from(JSON.stringify({ version: 1, status: 'rejected', reason }));

function ackRows(ts: TestServer): number {
  const device = ts.server.store.trackers.findDevice(TELFM.deviceId)!;
  ts.server.store.settings.flushPending();
  return ts.server.store.db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM device_acks WHERE device = ?').get(device.id)!.n;
}

t.test('the answer budget: a burst, then the per-second rate (injected clock)', async (t) => {
  const clock = manualClock();
  const budget = new RateLimiter(5, clock.now, { burst: 50, idleMs: 60_000 });
  let taken = 0;
  for (let i = 0; i < 200; i++) if (budget.take('d1')) taken++;
  t.equal(taken, 50, 'the burst passes, the rest of the same instant is refused');
  t.ok(budget.take('d2'), 'another device has its own budget');
  clock.advance(1_000);
  taken = 0;
  for (let i = 0; i < 200; i++) if (budget.take('d1')) taken++;
  t.equal(taken, 5, 'one second later: five more');
  clock.advance(3_600_000);
  taken = 0;
  for (let i = 0; i < 200; i++) if (budget.take('d1')) taken++;
  t.equal(taken, 50, 'after a long pause: never more than the burst');
  t.ok(new RateLimiter(0, clock.now, { burst: 1, idleMs: 60_000 }).take('d1'), 'perSecond 0: no limit');
});

t.test('the dropped-answer log: one line per device per interval, with the count it did not write', async (t) => {
  const clock = manualClock();
  const { log, lines } = recordingLogger();
  const dropped = new ThrottledAnswerLog(log, 60_000, clock.now);
  for (let i = 0; i < 1_000; i++) dropped.dropped('d1', 'trackers/d1/config/tracking/ack', 'malformed');
  dropped.dropped('d2', 'trackers/d2/config/tracking/ack', 'malformed');
  dropped.dropped('d1', 'trackers/d1/config/tracking/ack', 'limited');
  t.equal(lines.length, 3, 'one line for d1 malformed, one for d2, one for d1 over its budget');
  t.same(lines[0], { level: 'warn', fields: { device: 'd1', topic: 'trackers/d1/config/tracking/ack', suppressed: 0 }, msg: 'malformed payload dropped' });
  clock.advance(59_999);
  dropped.dropped('d1', 'trackers/d1/config/tracking/ack', 'malformed');
  t.equal(lines.length, 3, 'still inside the interval: not written');
  clock.advance(1);
  dropped.dropped('d1', 'trackers/d1/config/tracking/ack', 'malformed');
  t.equal(lines.length, 4, 'the interval is over: written');
  t.equal(lines[3]!.fields.suppressed, 1_000, 'and it says how many were not written since the last line');
});

t.test('nesting is refused on the bytes, before parsing', async (t) => {
  t.ok(nestingWithin(Buffer.from('{"settings":{"a":[1,{"b":[2]}]}}'), 5), 'five deep within 5');
  t.notOk(nestingWithin(Buffer.from('{"settings":{"a":[1,{"b":[2]}]}}'), 4), 'five deep over 4');
  t.ok(nestingWithin(Buffer.from('{"reason":"[[[[[[[[[[\\"[[[[[["}'), 1), 'brackets inside strings (escaped quotes too) do not count');
  t.notOk(nestingWithin(Buffer.from('['.repeat(100_000)), 16), 'an unclosed deep prefix is refused too');
});

t.test('a hostile tracker through the broker hooks: limited, bounded, one log line, no error', async (t) => {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT });
  await withVersions(ts, 2);
  const clock = manualClock();
  const limits = { perSecond: 5, burst: 50, acksKept: 20, maxDepth: 16 };
  const auth = new AuthService(ts.server.store, { sessionIdleMs: 1e9, maxLoginFailures: 10, loginWindowMs: 1e6 });
  const devices = new DeviceService(ts.server.store, auth, { clock: clock.now, answerLimits: limits });
  const { log, lines } = recordingLogger();
  const hooks = new BrokerHooks(
    devices,
    new ConfigCache(devices),
    {
      maxPayloadBytes: 65_536,
      connectsPerSecondPerAddress: 0,
      maxFiltersPerSubscribe: 16,
      maxSubscriptionsPerClient: 64,
      maxTopicLength: 256,
      answerLogIntervalMs: 60_000,
      now: clock.now,
    },
    log,
  );
  const client = { id: TELFM.deviceId } as unknown as Client;
  hooks.identities.setTracker(client, TELFM.deviceId);
  const publish = (kind: 'ack' | 'reported', payload: Buffer) =>
    hooks.published({ topic: `trackers/${TELFM.deviceId}/config/tracking/${kind}`, payload } as AedesPublishPacket, client, () => undefined);

  // Deeply nested, within the payload maximum: refused as malformed, no error logged.
  const depth = 30_000;
  const nested = Buffer.from(`{"settings":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}}`);
  for (let i = 0; i < 20; i++) publish(i % 2 ? 'reported' : 'ack', nested);
  t.equal(devices.counters.malformed, 20, 'every nested payload counted as malformed');
  t.equal(lines.filter((l) => l.level === 'error').length, 0, 'no error (no stack trace) logged');
  t.equal(lines.length, 1, '20 malformed payloads: one log line');

  // A flood of stale acks: the burst is taken, the rest dropped unread and counted.
  for (let i = 0; i < 1_000; i++) publish('ack', staleAck());
  t.equal(devices.counters.acksStale, 50 - 20, 'the rest of the burst recorded as stale acks');
  t.equal(devices.counters.limited, 1_000 - 30, 'the excess dropped and counted');
  t.equal(lines.length, 2, 'and logged once');
  t.match(lines[1], { level: 'warn', fields: { device: TELFM.deviceId }, msg: /answer budget/ });
  t.ok(ackRows(ts) <= limits.acksKept, `stored acks of the device bounded by acksKept (${ackRows(ts)} ≤ ${limits.acksKept})`);

  clock.advance(10_000);
  publish('ack', Buffer.from(JSON.stringify({ version: 2, status: 'applied' })));
  ts.server.store.settings.flushPending();
  t.equal(
    ts.server.store.settings.sync(ts.server.store.trackers.findDevice(TELFM.deviceId)!.id).state,
    'applied',
    'once the budget refills, a real ack counts',
  );
  const kept = ts.server.store.db.prepare<[], { version: number }>('SELECT version FROM device_acks ORDER BY id DESC LIMIT 1').get();
  t.equal(kept?.version, 2, 'the newest ack is among the kept ones');
});
