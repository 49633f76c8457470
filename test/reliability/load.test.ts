/**
 * Load without loss (docs/reliability.md#6-load-without-loss). The built service with N trackers connected (lightweight MQTT
 * clients that PUBACK and acknowledge every config), and a steady stream of updates over HTTP
 * spread over several API keys (the default per-credential limit of 50/s stays on). At the end:
 * zero HTTP errors, every tracker received every version sent to it (zero dropped deliveries) and
 * ends with its latest version (as SQLite says), and every sync state is `applied`.
 *
 * CI: 1,000 trackers, 500 updates/s for 10 s. TRACKCONF_LONG_TESTS=1: 10,000 trackers, 500/s, 60 s.
 * Knobs: TRACKCONF_LOAD_TRACKERS, TRACKCONF_LOAD_RATE, TRACKCONF_LOAD_SECONDS, TRACKCONF_LOAD_CONFIG.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { connectMany, type LiteTracker } from '../helpers/lite-mqtt.js';
import { knob, numberedDevices, prng, provisionOwnedFleet, readDevices, spawnService } from '../helpers/service.js';
import { tempDir } from '../helpers/server.js';

const TRACKERS = knob('TRACKCONF_LOAD_TRACKERS', 1_000, 10_000);
const RATE = knob('TRACKCONF_LOAD_RATE', 500, 500);
const SECONDS = knob('TRACKCONF_LOAD_SECONDS', 10, 60);
const SEED = knob('TRACKCONF_LOAD_SEED', 42, 42);
/** Each key carries RATE/KEYS requests/s: 25/s, under the default limit of 50/s per credential. */
const KEYS = Math.max(1, Math.ceil(RATE / 25));
const MAX_IN_FLIGHT = 256;

t.setTimeout(120_000 + SECONDS * 2_000 + TRACKERS * 5);

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function rssMiB(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : 0;
  } catch {
    return 0;
  }
}

t.test(`${TRACKERS} trackers, ${RATE} updates/s for ${SECONDS} s: nothing lost`, async (t) => {
  const random = prng(SEED);
  const db = join(tempDir(t), 'load.db');
  const keys = Array.from({ length: KEYS }, (_, i) => `10ad${i.toString(16).padStart(28, '0')}`);
  const devices = numberedDevices(TRACKERS, 100_000, 869000000000000, 'load-secret');
  await provisionOwnedFleet(db, { login: 'load@example.com', password: 'load-password', api_keys: keys }, devices, (d) => `Load ${d.trackerId}`);
  // TRACKCONF_LOAD_CONFIG: a config file for the service (e.g. {"dbSynchronous": "NORMAL"} to compare).
  const configFile = process.env.TRACKCONF_LOAD_CONFIG;
  const service = await spawnService({ db, ...(configFile && { env: { TRACKCONF_CONFIG: configFile } }) });
  t.teardown(() => service.kill('SIGKILL'));

  const connectStart = Date.now();
  const trackers: LiteTracker[] = await connectMany(devices, { port: service.mqttPort, ack: true });
  t.teardown(() => {
    for (const tr of trackers) tr.destroy();
  });
  const connectSeconds = (Date.now() - connectStart) / 1000;
  t.comment(`load: ${TRACKERS} trackers connected and subscribed in ${connectSeconds.toFixed(1)} s`);

  const answeredAt = new Map<string, number>(); // `${device}:${version}` → when update answered
  const deliveryMs: number[] = [];
  for (const tracker of trackers) {
    tracker.onConfig = (config, tr) => {
      const at = answeredAt.get(`${tr.device.deviceId}:${config.version}`);
      if (at !== undefined) deliveryMs.push(Date.now() - at);
    };
  }

  const latestAnswered = new Map<string, number>();
  const latencies: number[] = [];
  const errors: string[] = [];
  let sent = 0;
  let inFlight = 0;
  let skippedTicks = 0;
  let distance = 50;

  async function update(i: number, key: string): Promise<void> {
    const d = devices[i]!;
    const settings = {
      tracking_angle: 10 + Math.floor(random() * 200),
      tracking_distance: 50 + (distance++ % 65_000),
      tracking_interval: 30 + Math.floor(random() * 200),
      on_stop_tracking_interval: 600,
      sleep_mode: 'disabled',
      stop_detection: 'ignition',
    };
    const started = Date.now();
    inFlight++;
    try {
      const response = await fetch(`${service.url}/tracker/settings/tracking/update`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ hash: key, tracker_id: d.trackerId, tracking_settings: settings }),
      });
      const body = (await response.json()) as { success: boolean; sync?: { version: number }; status?: unknown };
      latencies.push(Date.now() - started);
      if (response.status !== 200 || !body.success || !body.sync) {
        errors.push(`HTTP ${response.status} ${JSON.stringify(body)}`);
        return;
      }
      answeredAt.set(`${d.deviceId}:${body.sync.version}`, Date.now());
      latestAnswered.set(d.deviceId, Math.max(latestAnswered.get(d.deviceId) ?? 0, body.sync.version));
    } catch (err) {
      errors.push(`network: ${(err as Error).message}`);
    } finally {
      inFlight--;
    }
  }

  // A steady schedule: every 10 ms, the requests due by now (no catch-up burst beyond MAX_IN_FLIGHT).
  const streamStart = Date.now();
  const total = RATE * SECONDS;
  const pending: Promise<void>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - streamStart) / 1000) * RATE));
    while (sent < due) {
      if (inFlight >= MAX_IN_FLIGHT) {
        skippedTicks++;
        break;
      }
      pending.push(update(Math.floor(random() * TRACKERS), keys[sent % KEYS]!));
      sent++;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  const streamSeconds = (Date.now() - streamStart) / 1000;

  // Every tracker ends with its latest version and every sync state is applied.
  const waitStart = Date.now();
  let stored = readDevices(db);
  const behind = () =>
    devices.filter((d, i) => {
      const latest = stored.get(d.deviceId)!.versions.at(-1)?.version ?? 0;
      return (trackers[i]!.latest?.version ?? 0) !== latest || (latest > 0 && stored.get(d.deviceId)!.sync?.state !== 'applied');
    });
  while (behind().length > 0 && Date.now() - waitStart < 30_000) {
    await new Promise((r) => setTimeout(r, 250));
    stored = readDevices(db);
  }
  const settleSeconds = (Date.now() - waitStart) / 1000;

  let versionsStored = 0;
  let dropped = 0;
  let mismatched = 0;
  devices.forEach((d, i) => {
    const state = stored.get(d.deviceId)!;
    const latest = state.versions.at(-1);
    versionsStored += state.versions.length;
    if ((latestAnswered.get(d.deviceId) ?? 0) !== (latest?.version ?? 0)) mismatched++;
    const tracker = trackers[i]!;
    if (tracker.received !== state.versions.length) dropped += Math.abs(state.versions.length - tracker.received);
    if (latest && JSON.stringify(tracker.latest?.settings) !== JSON.stringify(JSON.parse(latest.settings))) mismatched++;
  });
  latencies.sort((a, b) => a - b);
  deliveryMs.sort((a, b) => a - b);
  const rss = rssMiB(service.proc.pid);

  t.same(errors.slice(0, 5), [], `zero HTTP errors (${errors.length})`);
  t.equal(sent, total, `${total} updates sent`);
  t.equal(versionsStored, total - errors.length, 'every answered update stored once');
  t.equal(mismatched, 0, 'every tracker holds the latest version read would return, with its settings');
  t.equal(dropped, 0, 'zero dropped deliveries: every tracker received every version sent to it');
  t.equal(behind().length, 0, 'every sync state is applied');
  t.equal(trackers.filter((tr) => tr.closed).length, 0, 'no tracker was disconnected');
  t.comment(
    `load figures: trackers=${TRACKERS} rate=${RATE}/s seconds=${SECONDS} sent=${sent} achieved=${(sent / streamSeconds).toFixed(0)}/s ` +
      `http-errors=${errors.length} dropped=${dropped} update-p50=${percentile(latencies, 50)}ms update-p99=${percentile(latencies, 99)}ms ` +
      `delivery-p50=${percentile(deliveryMs, 50)}ms delivery-p99=${percentile(deliveryMs, 99)}ms settle=${settleSeconds.toFixed(1)}s ` +
      `connect=${connectSeconds.toFixed(1)}s in-flight-cap-hits=${skippedTicks} service-rss=${rss}MiB`,
  );
});
