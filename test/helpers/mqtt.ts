import type { Aedes } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Test } from 'tap';

/** A connected MQTT client, ended when the test ends. */
export async function connect(t: Test, url: string, options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }, false);
  t.teardown(() => client.endAsync(true));
  return client;
}

export function trackerOptions(device: { deviceId: string; secret: string }, extra: IClientOptions = {}): IClientOptions {
  return { username: device.deviceId, password: device.secret, clientId: device.deviceId, ...extra };
}

/** The CONNACK return code a connect attempt gets (0 when accepted). */
export async function connackCode(url: string, options: IClientOptions): Promise<number> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options }, false);
    await client.endAsync(true);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

export interface Received {
  readonly topic: string;
  readonly payload: Record<string, any>;
  readonly retain: boolean;
  readonly qos: number;
}

/** Collects every message a client receives, parsed as JSON. */
export function collect(client: MqttClient): Received[] {
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    let parsed: Record<string, any>;
    try {
      parsed = JSON.parse(payload.toString('utf8')) as Record<string, any>;
    } catch {
      parsed = { raw: payload.toString('utf8') };
    }
    received.push({ topic, payload: parsed, retain: packet.retain, qos: packet.qos });
  });
  return received;
}

/** Waits until `check` holds (polling), failing after `ms`. */
export async function until(check: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the asynchronous `check` holds (polling), failing after `ms`. */
export async function eventually(check: () => Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves when the client's connection closes (the broker closed it). */
export function closed(client: MqttClient, ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (client.disconnected || !client.connected) return resolve();
    const timer = setTimeout(() => reject(new Error('connection was not closed')), ms);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

let markers = 0;

/**
 * Resolves once everything the broker had sent before now to the clients collecting into `lists` has
 * arrived (used before asserting "nothing more"): the broker publishes a QoS 1 marker on `topic` (one
 * every such client subscribes to) and MQTT delivers one client's messages in order, so whatever was
 * due before the marker arrived before it. The marker is removed from each list.
 */
export async function drained(aedes: Aedes, topic: string, ...lists: Received[][]): Promise<void> {
  const marker = `marker-${++markers}`;
  const payload = Buffer.from(JSON.stringify({ marker }));
  await new Promise<void>((resolve, reject) =>
    aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve())),
  );
  for (const received of lists) {
    await until(() => received.some((m) => m.payload.marker === marker), 10_000, `the marker on ${topic}`);
    received.splice(
      received.findIndex((m) => m.payload.marker === marker),
      1,
    );
  }
}

/** The SUBACK return code of one subscription (mqtt.js rejects on 128: read it from the packet). */
export async function granted(client: MqttClient, topic: string, qos: 0 | 1 | 2 = 1): Promise<number> {
  try {
    return (await client.subscribeAsync(topic, { qos }))[0]!.qos;
  } catch (err) {
    const packet = (err as { packet?: { granted?: number[] } }).packet;
    if (packet?.granted?.length === 1) return packet.granted[0]!;
    throw err;
  }
}
