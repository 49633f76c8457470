import mqtt, { type MqttClient } from 'mqtt';
import { ackTopic, configTopic } from '../broker/topics.js';

export interface SimulatedDevice {
  readonly deviceId: string;
  readonly secret: string;
}

export interface AppliedConfig {
  readonly deviceId: string;
  readonly version: number;
  readonly profile: string;
  readonly settings: Record<string, unknown>;
}

export interface SimulatorOptions {
  readonly url: string;
  /** Called for each config a tracker applied and acknowledged. */
  readonly onApplied?: (applied: AppliedConfig) => void;
  readonly onError?: (deviceId: string, message: string) => void;
  /** Reconnect after a lost connection (ms); 0 = do not. */
  readonly reconnectPeriod?: number;
}

interface ConfigPayload {
  version: number;
  profile: string;
  settings: Record<string, unknown>;
}

function parseConfig(payload: Buffer): ConfigPayload | undefined {
  try {
    const value = JSON.parse(payload.toString('utf8')) as Partial<ConfigPayload>;
    if (typeof value.version === 'number' && typeof value.settings === 'object' && value.settings !== null) {
      return { version: value.version, profile: String(value.profile ?? ''), settings: value.settings };
    }
  } catch {
    // not JSON: reported to the caller, not acknowledged
  }
  return undefined;
}

/**
 * One simulated tracker (docs/mqtt.md from the device's side): connects as its device, subscribes to its
 * config topic, "applies" each config it receives and acknowledges that version.
 */
export async function startSimulatedTracker(device: SimulatedDevice, options: SimulatorOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(
    options.url,
    {
      username: device.deviceId,
      password: device.secret,
      clientId: device.deviceId,
      reconnectPeriod: options.reconnectPeriod ?? 1000,
      connectTimeout: 10_000,
    },
    false,
  );
  const topic = configTopic(device.deviceId);
  client.on('message', (_topic, payload) => {
    const config = parseConfig(payload);
    if (!config) {
      options.onError?.(device.deviceId, 'unreadable config message');
      return;
    }
    const ack = { version: config.version, status: 'applied', settings: config.settings };
    client.publish(ackTopic(device.deviceId), JSON.stringify(ack), { qos: 1 }, (err) => {
      if (err) options.onError?.(device.deviceId, `ack not sent: ${err.message}`);
      else options.onApplied?.({ deviceId: device.deviceId, ...config });
    });
  });
  client.on('error', (err) => options.onError?.(device.deviceId, err.message));
  // Subscribe on every (re)connect: a clean session forgets its subscriptions.
  const subscribe = () =>
    client.subscribe(topic, { qos: 1 }, (err, granted) => {
      if (err || granted?.[0]?.qos === 128) options.onError?.(device.deviceId, `subscribe refused: ${err?.message ?? '128'}`);
    });
  client.on('connect', subscribe);
  subscribe();
  return client;
}
