/**
 * Crash safety (docs/reliability.md#1-crash-safety). The built service is killed with SIGKILL at seeded random moments while
 * several HTTP clients stream updates and connected trackers acknowledge what they receive. After
 * each kill the SQLite file must hold every update that was answered `success: true` (exactly the
 * settings sent, or superseded by a later version), nothing that was never sent, consistent sync
 * rows; after each restart `read` returns the latest stored version and a tracker subscribing gets
 * exactly what `read` returns.
 *
 * CI: 20 kills (TRACKCONF_CRASH_KILLS); TRACKCONF_LONG_TESTS=1: 200. Seed: TRACKCONF_CRASH_SEED.
 */
import { join } from 'node:path';
import t from 'tap';
import { LiteTracker } from '../helpers/lite-mqtt.js';
import { knob, numberedDevices, prng, provisionOwnedFleet, readDevices, spawnService, syncProblems, type Service } from '../helpers/service.js';
import { tempDir } from '../helpers/server.js';

const KILLS = knob('TRACKCONF_CRASH_KILLS', 20, 200);
const SEED = knob('TRACKCONF_CRASH_SEED', Date.now() % 1_000_000, Date.now() % 1_000_000);
const TRACKERS = 12;
const CLIENTS = 6;
const API_KEY = 'c0ffee00c0ffee00c0ffee00c0ffee00';

const devices = numberedDevices(TRACKERS, 5000, 868000000000000, 'crash-secret');

/** Keys sorted: stored JSON and sent objects compare as text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

interface Sent {
  readonly settings: string;
  answered?: number;
}

t.setTimeout(Math.max(120_000, KILLS * 6_000));

t.test(`SIGKILL ${KILLS} times during a stream of updates (seed ${SEED})`, async (t) => {
  t.comment(`crash: seed ${SEED}, ${KILLS} kills (reproduce: TRACKCONF_CRASH_SEED=${SEED} TRACKCONF_CRASH_KILLS=${KILLS})`);
  const random = prng(SEED);
  const db = join(tempDir(t), 'crash.db');
  await provisionOwnedFleet(db, { login: 'crash@example.com', password: 'crash-password', api_keys: [API_KEY] }, devices, (d) => `Crash ${d.trackerId}`);

  const sent = new Map<string, Sent[]>(devices.map((d) => [d.deviceId, []]));
  let distance = 50; // unique per request: identifies which request a stored version came from
  const totals = { answered: 0, unknown: 0, rejected: 0, versions: 0 };

  async function read(service: Service, trackerId: number) {
    const response = await fetch(`${service.url}/tracker/settings/tracking/read`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hash: API_KEY, tracker_id: trackerId }),
    });
    return (await response.json()) as { success: boolean; value: Record<string, unknown>; sync: { version: number } };
  }

  /** After a restart: read == latest stored; a subscribing tracker gets exactly what read returns. */
  async function verifyRestart(service: Service, round: number): Promise<LiteTracker[]> {
    const stored = readDevices(db);
    const reads = await Promise.all(devices.map((d) => read(service, d.trackerId)));
    const trackers = await Promise.all(
      devices.map(async (d) => {
        // a tracker whose first connection is dropped connects again, as a real one does (said, not hidden)
        const tracker = await LiteTracker.connect(d, { port: service.mqttPort, ack: true }).catch((err: Error) => {
          t.comment(`round ${round}: ${err.message}; connecting again`);
          return LiteTracker.connect(d, { port: service.mqttPort, ack: true });
        });
        await tracker.subscribe();
        return tracker;
      }),
    );
    const deadline = Date.now() + 30_000; // a deadline for the trackers to catch up, not a timing assertion
    const expecting = () => devices.filter((_d, i) => reads[i]!.sync.version > 0 && (trackers[i]!.latest?.version ?? 0) < reads[i]!.sync.version);
    while (expecting().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    let bad = 0;
    devices.forEach((d, i) => {
      const answer = reads[i]!;
      const latest = stored.get(d.deviceId)!.versions.at(-1);
      const got = trackers[i]!.latest;
      if (!answer.success) bad++, t.fail(`round ${round}: read ${d.trackerId} failed: ${JSON.stringify(answer)}`);
      else if (answer.sync.version !== (latest?.version ?? 0)) bad++, t.fail(`round ${round}: read version ${answer.sync.version} ≠ stored ${latest?.version}`);
      else if (latest && canonical(answer.value) !== canonical(JSON.parse(latest.settings))) bad++, t.fail(`round ${round}: read value ≠ stored`);
      else if (latest && (got?.version !== latest.version || canonical(got.settings) !== canonical(answer.value))) {
        bad++;
        t.fail(`round ${round}: tracker ${d.deviceId} got ${got?.version} ${got?.raw}, read says ${latest.version}`);
      } else if (!latest && got) bad++, t.fail(`round ${round}: tracker ${d.deviceId} got a config before any version`);
    });
    if (bad === 0) t.pass(`round ${round}: read and MQTT agree with SQLite for ${TRACKERS} trackers`);
    return trackers;
  }

  /** After a kill: every answered update stored exactly, nothing unsent stored, sync consistent. */
  function verifyStored(round: number): void {
    const stored = readDevices(db);
    let bad = 0;
    for (const d of devices) {
      const state = stored.get(d.deviceId)!;
      const requests = sent.get(d.deviceId)!;
      const problems = syncProblems(state);
      if (problems.length > 0) bad++, t.fail(`round ${round}: ${d.deviceId} sync: ${problems.join('; ')}`);
      const byVersion = new Map(state.versions.map((v) => [v.version, canonical(JSON.parse(v.settings))]));
      const sentSettings = new Set(requests.map((r) => r.settings));
      const latest = state.versions.at(-1)?.version ?? 0;
      for (const r of requests) {
        if (r.answered === undefined) continue;
        if (r.answered > latest) bad++, t.fail(`round ${round}: answered version ${r.answered} lost (latest ${latest})`);
        else if (byVersion.get(r.answered) !== r.settings) bad++, t.fail(`round ${round}: version ${r.answered} is not what was answered`);
      }
      for (const [version, settings] of byVersion) {
        if (!sentSettings.has(settings)) bad++, t.fail(`round ${round}: version ${version} of ${d.deviceId} was never sent`);
      }
    }
    if (bad === 0) t.pass(`round ${round}: every answered update survived the kill, nothing else was written`);
  }

  async function stream(service: Service, stop: { stopped: boolean }): Promise<void> {
    while (!stop.stopped) {
      const d = devices[Math.floor(random() * devices.length)]!;
      const settings = {
        tracking_angle: 10 + Math.floor(random() * 200),
        tracking_distance: distance++,
        tracking_interval: 30 + Math.floor(random() * 200),
        on_stop_tracking_interval: 30 + Math.floor(random() * 1000),
        sleep_mode: random() < 0.5 ? 'disabled' : 'soft_sleep',
        stop_detection: ['ignition', 'g_sensor', 'gps'][Math.floor(random() * 3)],
      };
      const record: Sent = { settings: canonical(settings) };
      sent.get(d.deviceId)!.push(record);
      try {
        const response = await fetch(`${service.url}/tracker/settings/tracking/update`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hash: API_KEY, tracker_id: d.trackerId, tracking_settings: settings }),
        });
        const body = (await response.json()) as { success: boolean; sync?: { version: number } };
        if (body.success && body.sync) {
          record.answered = body.sync.version;
          totals.answered++;
        } else totals.rejected++;
      } catch {
        totals.unknown++; // killed while in flight: the update may or may not be stored
        return;
      }
    }
  }

  const started = Date.now();
  for (let round = 1; round <= KILLS; round++) {
    const service = await spawnService({ db, env: { TRACKCONF_RATE_LIMIT: '0' } });
    const trackers = await verifyRestart(service, round);
    const stop = { stopped: false };
    const streams = Array.from({ length: CLIENTS }, () => stream(service, stop));
    await new Promise((r) => setTimeout(r, 50 + Math.floor(random() * 450)));
    service.kill('SIGKILL');
    const exit = await service.exited;
    stop.stopped = true;
    await Promise.all(streams);
    for (const tracker of trackers) tracker.destroy();
    if (exit.signal !== 'SIGKILL') t.fail(`round ${round}: exited with ${JSON.stringify(exit)} before the kill`);
    verifyStored(round);
  }
  const last = await spawnService({ db, env: { TRACKCONF_RATE_LIMIT: '0' } });
  for (const tracker of await verifyRestart(last, KILLS + 1)) tracker.destroy();
  last.kill('SIGKILL');
  await last.exited;

  totals.versions = [...readDevices(db).values()].reduce((n, d) => n + d.versions.length, 0);
  t.equal(totals.rejected, 0, 'no update was refused');
  t.ok(totals.answered > KILLS * 10, `updates were answered (${totals.answered})`);
  t.comment(
    `crash figures: kills=${KILLS} seed=${SEED} answered=${totals.answered} in-flight-at-kill=${totals.unknown} ` +
      `versions-stored=${totals.versions} (answered or committed just before a kill) seconds=${((Date.now() - started) / 1000).toFixed(1)}`,
  );
});
