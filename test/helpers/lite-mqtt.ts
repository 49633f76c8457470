/**
 * A minimal MQTT 3.1.1 tracker over a raw `net` socket (mqtt-packet for the bytes): cheap enough to
 * hold 10,000 connections in one test process, which mqtt.js clients are not. It subscribes to its
 * config topic, PUBACKs every QoS 1 message, optionally answers each config with an `applied` ack,
 * and remembers the latest version it received. Also raw-socket helpers for hostile-client tests.
 */
import { connect as netConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';

export interface LiteDevice {
  readonly deviceId: string;
  readonly secret: string;
}

export interface LiteConfig {
  readonly version: number;
  readonly settings: Record<string, unknown>;
  readonly raw: string;
}

export interface LiteOptions {
  readonly port: number;
  readonly host?: string;
  /** The local address to connect from (another 127.x.y.z stands for another client address). */
  readonly localAddress?: string;
  /** Answer each config with `{"version": v, "status": "applied"}` (default true). */
  readonly ack?: boolean;
  readonly clean?: boolean;
  readonly keepalive?: number;
  readonly timeoutMs?: number;
}

/** A tracker connection; `connect` resolves once CONNACK 0 arrived (rejects with the code otherwise). */
export class LiteTracker {
  /** The highest config version received, and its payload. */
  latest: LiteConfig | undefined;
  received = 0;
  /** PUBACKs the broker sent for this tracker's QoS 1 publishes (it handled them, in order). */
  pubacks = 0;
  closed = false;
  /** Called with every config message (load tests time deliveries with it). */
  onConfig: ((config: LiteConfig, tracker: LiteTracker) => void) | undefined;
  readonly topic: string;
  private nextId = 1;
  private readonly waiters = new Map<string, (packet: mqttPacket.Packet) => void>();

  private constructor(
    readonly device: LiteDevice,
    readonly socket: Socket,
    private readonly ackConfigs: boolean,
  ) {
    this.topic = `trackers/${device.deviceId}/config/tracking`;
  }

  static connect(device: LiteDevice, options: LiteOptions): Promise<LiteTracker> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({
        port: options.port,
        host: options.host ?? '127.0.0.1',
        noDelay: true,
        ...(options.localAddress !== undefined && { localAddress: options.localAddress }),
      });
      const tracker = new LiteTracker(device, socket, options.ack ?? true);
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no CONNACK for ${device.deviceId}`));
      }, options.timeoutMs ?? 15_000);
      let connected = false;
      parser.on('packet', (packet) => {
        if (!connected) {
          if (packet.cmd !== 'connack') return;
          clearTimeout(timer);
          connected = true;
          if (packet.returnCode === 0) resolve(tracker);
          else {
            socket.destroy();
            reject(Object.assign(new Error(`CONNACK ${packet.returnCode}`), { code: packet.returnCode }));
          }
          return;
        }
        tracker.onPacket(packet);
      });
      parser.on('error', () => socket.destroy());
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        tracker.closed = true;
        if (!connected) {
          clearTimeout(timer);
          reject(new Error(`connection closed before CONNACK (${device.deviceId})`));
        }
      });
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: device.deviceId,
          username: device.deviceId,
          password: Buffer.from(device.secret),
          clean: options.clean ?? true,
          keepalive: options.keepalive ?? 0,
        }),
      );
    });
  }

  /** SUBSCRIBE to the config topic at QoS 1; resolves with the granted QoS. */
  subscribe(topic = this.topic, qos: 0 | 1 = 1): Promise<number> {
    const messageId = this.id();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SUBACK for ${this.device.deviceId}`)), 15_000);
      this.waiters.set(`suback:${messageId}`, (packet) => {
        clearTimeout(timer);
        resolve((packet as mqttPacket.ISubackPacket).granted[0] as number);
      });
      this.socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] }));
    });
  }

  publish(topic: string, payload: Buffer | string, qos: 0 | 1 = 1): void {
    this.socket.write(mqttPacket.generate({ cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 && { messageId: this.id() }) }));
  }

  end(): void {
    if (this.closed) return;
    this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private id(): number {
    this.nextId = (this.nextId % 65535) + 1;
    return this.nextId;
  }

  private onPacket(packet: mqttPacket.Packet): void {
    if (packet.cmd === 'suback') {
      const key = `suback:${packet.messageId}`;
      this.waiters.get(key)?.(packet);
      this.waiters.delete(key);
      return;
    }
    if (packet.cmd === 'puback') {
      this.pubacks += 1;
      return;
    }
    if (packet.cmd !== 'publish') return;
    if (packet.qos === 1 && packet.messageId !== undefined) this.socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId }));
    if (packet.topic !== this.topic) return;
    const raw = Buffer.isBuffer(packet.payload) ? packet.payload.toString('utf8') : String(packet.payload);
    let message: { version?: unknown; settings?: unknown };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      return;
    }
    if (typeof message.version !== 'number') return;
    this.received++;
    const config = { version: message.version, settings: message.settings as Record<string, unknown>, raw };
    if (!this.latest || message.version > this.latest.version) this.latest = config;
    this.onConfig?.(config, this);
    if (this.ackConfigs) this.publish(`${this.topic}/ack`, JSON.stringify({ version: message.version, status: 'applied' }));
  }
}

/** Connects `devices` with at most `parallel` handshakes at a time. */
export async function connectMany(devices: readonly LiteDevice[], options: LiteOptions, parallel = 200): Promise<LiteTracker[]> {
  const out: LiteTracker[] = new Array(devices.length);
  let next = 0;
  const worker = async () => {
    while (next < devices.length) {
      const i = next++;
      const tracker = await LiteTracker.connect(devices[i]!, options);
      await tracker.subscribe();
      out[i] = tracker;
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, devices.length) }, worker));
  return out;
}

/** A raw TCP socket to the broker, for bytes no client library would send. */
export function rawSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', ...(localAddress !== undefined && { localAddress }) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves when the socket is closed by the other side (or rejects after `ms`). */
export function socketClosed(socket: Socket, ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || socket.readyState === 'closed') return resolve();
    const timer = setTimeout(() => reject(new Error('socket was not closed')), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export const mqttBytes = mqttPacket.generate;
