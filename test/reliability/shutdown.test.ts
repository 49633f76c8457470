/**
 * Graceful shutdown under load (docs/reliability.md#2-graceful-shutdown). SIGTERM reaches the built service while HTTP clients
 * stream updates and trackers acknowledge configs. Every response that arrives is complete JSON:
 * 200 `success: true` (and then stored, exactly), or 503 for a request that arrived on an open
 * connection after closing began. Connection errors only after the signal. No other 5xx. The
 * process exits 0 within 10 s, logs its shutdown, and the database is consistent when it restarts.
 */
import { join } from 'node:path';
import t from 'tap';
import { connectMany } from '../helpers/lite-mqtt.js';
import { until } from '../helpers/mqtt.js';
import { numberedDevices, prng, provisionOwnedFleet, readDevices, spawnService, syncProblems } from '../helpers/service.js';
import { tempDir } from '../helpers/server.js';

const TRACKERS = 40;
const CLIENTS = 8;
const API_KEY = '5d000000000000000000000000000001';

interface Outcome {
  readonly deviceId: string;
  readonly settings: Record<string, unknown>;
  readonly sentAt: number;
  status?: number;
  body?: { success?: unknown; sync?: { version: number } };
  error?: string;
}

t.setTimeout(90_000);

t.test('SIGTERM under HTTP and MQTT load', async (t) => {
  const random = prng(7);
  const db = join(tempDir(t), 'shutdown.db');
  const devices = numberedDevices(TRACKERS, 7000, 867000000000000, 'shutdown-secret');
  await provisionOwnedFleet(db, { login: 'sd@example.com', password: 'sd-password', api_keys: [API_KEY] }, devices, () => 'x');
  const service = await spawnService({ db, logLevel: 'info', env: { TRACKCONF_RATE_LIMIT: '0' } });
  t.teardown(() => service.kill('SIGKILL'));
  const trackers = await connectMany(devices, { port: service.mqttPort, ack: true });

  const outcomes: Outcome[] = [];
  let distance = 50;
  let running = true;
  async function stream(): Promise<void> {
    while (running) {
      const d = devices[Math.floor(random() * TRACKERS)]!;
      const settings = {
        tracking_angle: 30,
        tracking_distance: distance++,
        tracking_interval: 30 + Math.floor(random() * 200),
        on_stop_tracking_interval: 600,
        sleep_mode: 'disabled',
        stop_detection: 'gps',
      };
      const outcome: Outcome = { deviceId: d.deviceId, settings, sentAt: performance.now() };
      outcomes.push(outcome);
      try {
        const response = await fetch(`${service.url}/tracker/settings/tracking/update`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ hash: API_KEY, tracker_id: d.trackerId, tracking_settings: settings }),
        });
        outcome.status = response.status;
        const text = await response.text();
        outcome.body = JSON.parse(text) as Outcome['body']; // a truncated body throws here
      } catch (err) {
        outcome.error = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        await new Promise((r) => setTimeout(r, 5)); // refused: the listener is gone
      }
    }
  }
  const streams = Array.from({ length: CLIENTS }, stream);
  const answered = () => outcomes.filter((o) => o.status === 200).length;
  await until(() => answered() >= 60, 60_000, 'the service to be under load'); // then the signal comes mid-stream
  const termAt = performance.now();
  service.kill('SIGTERM');
  const exit = await service.exited;
  running = false;
  await Promise.all(streams);

  t.same(exit, { code: 0, signal: null }, 'exit code 0');
  t.match(service.output.stdout, /"msg":"shutting down"/, 'logged the signal');
  t.match(service.output.stdout, /"msg":"shut down"/, 'logged a clean shutdown');
  t.equal(trackers.filter((tr) => !tr.closed).length, 0, 'every MQTT connection was closed by the service');

  const before = outcomes.filter((o) => o.sentAt < termAt);
  const ok = outcomes.filter((o) => o.status === 200 && o.body?.success === true);
  const unavailable = outcomes.filter((o) => o.status === 503);
  const refused = outcomes.filter((o) => o.error !== undefined);
  const other = outcomes.filter((o) => !ok.includes(o) && !unavailable.includes(o) && !refused.includes(o));
  t.same(
    other.map((o) => `${o.status} ${JSON.stringify(o.body)}`),
    [],
    'no answer other than 200 success and 503',
  );
  // Each client has one request in flight at a time: only those in flight at the signal (whose
  // connection the closing listener may not have taken yet) can be refused among those sent before it.
  const refusedBefore = refused.filter((o) => o.sentAt < termAt);
  t.ok(refusedBefore.length <= CLIENTS, `no connection error for requests sent before the signal but those in flight (${refusedBefore.length})`);
  t.ok(ok.length > 50, `updates answered under load (${ok.length}, ${before.length} sent before SIGTERM)`);

  const stored = readDevices(db);
  let lost = 0;
  for (const o of ok) {
    const row = stored.get(o.deviceId)!.versions.find((v) => v.version === o.body!.sync!.version);
    if (!row || JSON.stringify(JSON.parse(row.settings)) !== JSON.stringify(o.settings)) lost++;
  }
  t.equal(lost, 0, `every answered update is stored exactly (${ok.length})`);
  const inconsistent = devices.flatMap((d) => syncProblems(stored.get(d.deviceId)!).map((p) => `${d.deviceId}: ${p}`));
  t.same(inconsistent, [], 'sync rows consistent: nothing half-written');
  t.comment(`shutdown figures: answered=${ok.length} 503=${unavailable.length} refused=${refused.length}`);

  // And it starts again on the same file, serving what was stored.
  const again = await spawnService({ db });
  t.teardown(() => again.kill('SIGKILL'));
  const d = devices[0]!;
  const answer = (await (await fetch(`${again.url}/tracker/settings/tracking/read?hash=${API_KEY}&tracker_id=${d.trackerId}`)).json()) as {
    success: boolean;
    sync: { version: number };
  };
  t.equal(answer.sync.version, stored.get(d.deviceId)!.versions.at(-1)?.version ?? 0, 'restart serves the stored version');
  again.kill('SIGTERM');
  t.same(await again.exited, { code: 0, signal: null }, 'an idle service exits 0 on SIGTERM too');
});
