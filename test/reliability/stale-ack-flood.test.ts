/**
 * The flood of stale acks a security review measured (100,000 acks with a 512-character reason grew
 * the database by 60 MB and its WAL by 27 MB): over MQTT, through the real broker, with the default
 * limits (docs/mqtt.md#limits-on-what-a-tracker-sends). Prints time, stored rows, database and WAL
 * growth on a `stale-ack flood figures:` line (docs/reliability.md#7-hostile-clients).
 *
 * CI: 5,000 acks. TRACKCONF_LONG_TESTS=1: 100,000 (or TRACKCONF_STALE_ACKS=n).
 */
import { statSync } from 'node:fs';
import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { LiteTracker } from '../helpers/lite-mqtt.js';
import { knob } from '../helpers/service.js';
import { post, startTestServer, type TestServer } from '../helpers/server.js';
import { sqliteDb } from '../../src/store/index.js';

const STALE_ACKS = knob('TRACKCONF_STALE_ACKS', 5_000, 100_000);
t.setTimeout(120_000 + STALE_ACKS * 2);

/** Versions 1 and 2 of TELFM: an ack of version 1 is stale. */
async function twoVersions(ts: TestServer): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const answer = await post(ts.url, 'tracker/settings/tracking/update', {
      hash: ALICE.apiKey,
      tracker_id: TELFM.trackerId,
      tracking_settings: { ...VALID_TELFM, tracking_interval: 60 + i },
    });
    if (answer.body.success !== true) throw new Error(`update refused: ${JSON.stringify(answer.body)}`);
  }
}

function ackRows(ts: TestServer): number {
  const device = ts.server.store.trackers.findDevice(TELFM.deviceId)!;
  ts.server.store.settings.flushPending();
  return ts.server.store.db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM device_acks WHERE device = ?').get(device.id)!.n;
}

t.test(`${STALE_ACKS} stale acks of 512 characters over MQTT: time, database and WAL growth`, async (t) => {
  const ts = await startTestServer(t, { config: { rateLimit: { perCredential: 0, perAddress: 0 } } });
  await twoVersions(ts);
  const before = ackRows(ts);
  const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  const dbBefore = size(ts.dbFile);
  const walBefore = size(`${ts.dbFile}-wal`);
  const tracker = await LiteTracker.connect(TELFM, { port: ts.server.ports.mqtt!, ack: false });
  t.teardown(() => tracker.destroy());
  const counters = ts.server.devices.counters as typeof ts.server.devices.counters & { limited?: number };
  const counted = () => counters.acksStale + (counters.limited ?? 0) + counters.malformed;
  const countedBefore = counted();
  const started = Date.now();
  const payload = Buffer.from(JSON.stringify({ version: 1, status: 'rejected', reason: 'x'.repeat(512) }));
  const topic = `trackers/${TELFM.deviceId}/config/tracking/ack`;
  for (let i = 0; i < STALE_ACKS; i++) {
    tracker.publish(topic, payload, 0);
    if (i % 1_000 === 999) await new Promise((r) => setImmediate(r));
  }
  const deadline = Date.now() + 60_000 + STALE_ACKS;
  while (counted() - countedBefore < STALE_ACKS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - started) / 1000;
  t.equal(counted() - countedBefore, STALE_ACKS, 'every ack was processed (recorded, or dropped and counted)');
  const rows = ackRows(ts) - before;
  const walGrowth = size(`${ts.dbFile}-wal`) - walBefore;
  sqliteDb(ts.server.store).pragma('wal_checkpoint(PASSIVE)'); // what the WAL held is now in the database file
  const dbGrowth = size(ts.dbFile) - dbBefore;
  const { acksKept } = (ts.server.config as { trackerAnswers?: { acksKept: number } }).trackerAnswers ?? { acksKept: 100 };
  t.ok(rows <= acksKept, `ack rows kept: ${rows} (at most acksKept = ${acksKept})`);
  t.ok((counters.limited ?? 0) > 0, `${counters.limited} dropped over the budget`);
  t.ok(dbGrowth < 1024 * 1024, `the database grew by ${(dbGrowth / 1024).toFixed(0)} KiB`);
  t.notOk(tracker.closed, 'the tracker stays connected (only its excess is dropped)');
  t.comment(
    `stale-ack flood figures: acks=${STALE_ACKS} seconds=${seconds.toFixed(2)} rows=${rows} limited=${counters.limited} ` +
      `db_growth_bytes=${dbGrowth} wal_growth_bytes=${walGrowth}`,
  );
});
