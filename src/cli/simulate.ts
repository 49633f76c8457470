import type { MqttClient } from 'mqtt';
import { loadConfig } from '../config/load.js';
import { startSimulatedTracker, type SimulatedDevice } from '../simulator/tracker.js';
import { DEMO_DEVICES } from './demo-data.js';
import { UsageError, parseArgs } from './usage-error.js';

function devicesFrom(options: { device?: string[] | undefined; count?: string | undefined }): SimulatedDevice[] {
  const given = options.device ?? [];
  if (given.length > 0) {
    return given.map((text) => {
      const at = text.indexOf(':');
      if (at <= 0 || at === text.length - 1) throw new UsageError(`--device wants <device_id>:<secret>, got ${JSON.stringify(text)}`);
      return { deviceId: text.slice(0, at), secret: text.slice(at + 1) };
    });
  }
  const count = options.count === undefined ? DEMO_DEVICES.length : Number(options.count);
  if (!Number.isInteger(count) || count < 1 || count > DEMO_DEVICES.length) {
    throw new UsageError(`--count wants 1 to ${DEMO_DEVICES.length} (the demo fleet); use --device for others`);
  }
  return DEMO_DEVICES.slice(0, count).map((d) => ({ deviceId: d.deviceId, secret: d.secret }));
}

/**
 * `simulate`: simulated trackers that subscribe to their config, apply it and acknowledge it,
 * printing each version they apply. Runs until SIGINT/SIGTERM, or with --until-applied until every
 * tracker has applied a config.
 */
export async function simulate(args: readonly string[]): Promise<number> {
  const { values: options } = parseArgs(args, {
    device: { type: 'string', multiple: true },
    count: { type: 'string' },
    url: { type: 'string' },
    'until-applied': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const config = loadConfig();
  const url = options.url ?? `mqtt://127.0.0.1:${config.mqtt.port}`;
  const devices = devicesFrom(options);
  const pending = new Set(devices.map((d) => d.deviceId));
  const json = options.json === true;
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const clients: MqttClient[] = [];
  for (const device of devices) {
    try {
      clients.push(
        await startSimulatedTracker(device, {
          url,
          onApplied: (applied) => {
            const line = json
              ? JSON.stringify({ event: 'applied', ...applied })
              : `${new Date().toISOString()} ${applied.deviceId} applied version ${applied.version} (${applied.profile}): ${JSON.stringify(applied.settings)}`;
            process.stdout.write(`${line}\n`);
            pending.delete(applied.deviceId);
            if (options['until-applied'] === true && pending.size === 0) finish(0);
          },
          onError: (deviceId, message) => process.stderr.write(`${deviceId}: ${message}\n`),
        }),
      );
    } catch (err) {
      process.stderr.write(`trackconf simulate: ${device.deviceId} could not connect to ${url}: ${(err as Error).message}\n`);
      await Promise.all(clients.map((c) => c.endAsync(true)));
      return 1;
    }
  }
  process.stderr.write(`simulating ${devices.length} tracker(s) on ${url}; Ctrl-C to stop\n`);
  process.once('SIGINT', () => finish(0));
  process.once('SIGTERM', () => finish(0));
  const code = await finished;
  await Promise.all(clients.map((c) => c.endAsync()));
  return code;
}
