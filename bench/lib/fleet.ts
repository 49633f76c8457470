import { connect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { Samples, nowUs } from './stats.js';

/**
 * A fleet of real MQTT 3.1.1 clients, one TCP connection and one set of credentials each, built on
 * mqtt-packet over `net` (mqtt.js costs ~10× the memory and CPU per client, and the load core must
 * not be what saturates). Each tracker: CONNECT (clean session, client id = username = device id),
 * SUBSCRIBE QoS 1 to its config topic, PUBACK every QoS 1 PUBLISH, optionally answer `applied` on
 * its ack topic (docs/mqtt.md#ack-tracker--service).
 */
export interface FleetDevice {
  readonly deviceId: string;
  readonly secret: string;
}

export interface ConfigArrival {
  readonly index: number;
  readonly version: number;
  readonly atUs: number;
}

export interface FleetOptions {
  readonly port: number;
  /** Publish `{"version":v,"status":"applied"}` on …/ack after each config. */
  readonly ackApplied?: boolean;
  /** Every config message a tracker receives. */
  readonly onConfig?: (arrival: ConfigArrival) => void;
  /** Credentials sent (Mosquitto runs anonymous: the same bytes are sent anyway). */
  readonly withCredentials?: boolean;
}

type Waiter = { kind: 'suback' } | { kind: 'version'; version: number };

class Tracker {
  socket: Socket | undefined;
  parser: ReturnType<typeof mqttPacket.parser> | undefined;
  /** Latest config version received (over every connection). */
  version = 0;
  /** Latest config version received on the current connection. */
  sessionVersion = 0;
  subscribedAtUs = 0;
  firstConfigUs = 0;
  connectStartUs = 0;
  subackUs = 0;
  nextId = 1;
  waiter: Waiter | undefined;
  resolve: ((ok: boolean) => void) | undefined;
  dropping = false;
  /** The port of the current (or last) connection. */
  port = 0;
  /** Between its SUBACK and the close of that connection. */
  connected = false;

  constructor(
    readonly index: number,
    readonly device: FleetDevice,
    readonly topic: string,
  ) {}
}

export interface ConnectResult {
  readonly clients: number;
  readonly failed: number;
  readonly elapsed_s: number;
  readonly per_s: number;
  /** TCP connect start → SUBACK. */
  readonly connect_to_suback: ReturnType<Samples['summary']>;
  /** SUBSCRIBE sent → config message received (only when a version was awaited). */
  readonly subscribe_to_config?: ReturnType<Samples['summary']>;
}

export class Fleet {
  readonly trackers: Tracker[];
  unexpectedCloses = 0;
  refusedConnacks = 0;
  refusedSubacks = 0;
  configsReceived = 0;
  private ackApplied: boolean;
  private failover: { port: number; window: number; queue: Tracker[]; active: number } | undefined;

  constructor(
    devices: readonly FleetDevice[],
    private readonly options: FleetOptions,
  ) {
    this.trackers = devices.map((d, i) => new Tracker(i, d, `trackers/${d.deviceId}/config/tracking`));
    this.ackApplied = options.ackApplied ?? false;
  }

  /** Trackers answer `applied` on their ack topic from now on (or stop doing so). */
  setAckApplied(on: boolean): void {
    this.ackApplied = on;
  }

  get size(): number {
    return this.trackers.length;
  }

  /**
   * Connects every tracker with at most `window` handshakes in flight; each counts as done at its
   * SUBACK, or (when `expected` gives a version per tracker) when it holds at least that version.
   */
  async connectAll(window: number, expected?: (index: number) => number): Promise<ConnectResult> {
    const start = nowUs();
    const connectLatency = new Samples();
    const configLatency = new Samples();
    let next = 0;
    let failed = 0;
    const worker = async () => {
      while (next < this.trackers.length) {
        const tracker = this.trackers[next++]!;
        const version = expected?.(tracker.index);
        const ok = await this.connectOne(tracker, version === undefined ? { kind: 'suback' } : { kind: 'version', version });
        if (!ok) failed++;
        else {
          connectLatency.add(tracker.subackUs - tracker.connectStartUs);
          if (version !== undefined && version > 0) configLatency.add(tracker.firstConfigUs - tracker.subscribedAtUs);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(window, this.trackers.length) }, worker));
    const elapsed = (nowUs() - start) / 1e6;
    return {
      clients: this.trackers.length,
      failed,
      elapsed_s: elapsed,
      per_s: (this.trackers.length - failed) / elapsed,
      connect_to_suback: connectLatency.summary(),
      ...(expected && { subscribe_to_config: configLatency.summary() }),
    };
  }

  /** Every tracker drops its connection at once (no DISCONNECT: a lost link). */
  dropAll(): void {
    for (const t of this.trackers) {
      t.dropping = true;
      t.socket?.destroy();
      t.socket = undefined;
      t.parser = undefined;
    }
  }

  /**
   * From now on a tracker whose link drops (a dead node: not dropAll) reconnects to `port`, clean
   * session and SUBSCRIBE again, with at most `window` handshakes in flight across the fleet and a
   * retry 100 ms after a failed attempt: devices failing over to another node.
   */
  failoverTo(port: number, window: number): void {
    this.failover = { port, window, queue: [], active: 0 };
  }

  /** Trackers connected (SUBACK received) to `port` right now. */
  connectedTo(port: number): number {
    return this.trackers.reduce((n, t) => n + (t.connected && t.port === port ? 1 : 0), 0);
  }

  private pumpFailover(): void {
    const failover = this.failover;
    if (!failover) return;
    while (failover.active < failover.window && failover.queue.length > 0) {
      const tracker = failover.queue.shift()!;
      failover.active++;
      void this.connectOne(tracker, { kind: 'suback' }, failover.port).then((ok) => {
        failover.active--;
        if (!ok) setTimeout(() => this.requeue(tracker), 100);
        this.pumpFailover();
      });
    }
  }

  private requeue(tracker: Tracker): void {
    if (tracker.dropping || !this.failover) return;
    this.failover.queue.push(tracker);
    this.pumpFailover();
  }

  /** Trackers whose latest received version is below `expected(index)`. */
  behind(expected: (index: number) => number): number[] {
    return this.trackers.filter((t) => t.version < expected(t.index)).map((t) => t.index);
  }

  versionOf(index: number): number {
    return this.trackers[index]!.version;
  }

  private connectOne(tracker: Tracker, waiter: Waiter, port = this.options.port): Promise<boolean> {
    return new Promise((resolve) => {
      tracker.dropping = false;
      tracker.waiter = waiter;
      tracker.resolve = resolve;
      tracker.firstConfigUs = 0;
      tracker.sessionVersion = 0;
      tracker.connectStartUs = nowUs();
      tracker.port = port;
      tracker.connected = false;
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      tracker.socket = socket;
      tracker.parser = parser;
      parser.on('packet', (packet) => this.onPacket(tracker, packet));
      parser.on('error', () => socket.destroy());
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (tracker.socket !== socket) return;
        const wasConnected = tracker.connected;
        tracker.connected = false;
        if (!tracker.dropping) this.unexpectedCloses++;
        this.finish(tracker, false);
        if (wasConnected && !tracker.dropping) this.requeue(tracker);
      });
      socket.once('connect', () => {
        socket.write(
          mqttPacket.generate({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clean: true,
            clientId: tracker.device.deviceId,
            keepalive: 0,
            ...(this.options.withCredentials !== false && {
              username: tracker.device.deviceId,
              password: Buffer.from(tracker.device.secret),
            }),
          }),
        );
      });
    });
  }

  private finish(tracker: Tracker, ok: boolean): void {
    const resolve = tracker.resolve;
    tracker.resolve = undefined;
    tracker.waiter = undefined;
    resolve?.(ok);
  }

  private onPacket(tracker: Tracker, packet: mqttPacket.Packet): void {
    const socket = tracker.socket;
    if (!socket) return;
    switch (packet.cmd) {
      case 'connack':
        if (packet.returnCode !== 0) {
          this.refusedConnacks++;
          this.finish(tracker, false);
          return;
        }
        tracker.subscribedAtUs = nowUs();
        socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: tracker.nextId++, subscriptions: [{ topic: tracker.topic, qos: 1 }] }));
        return;
      case 'suback':
        tracker.subackUs = nowUs();
        tracker.connected = packet.granted[0] !== 128;
        if (packet.granted[0] === 128) {
          this.refusedSubacks++;
          this.finish(tracker, false);
          return;
        }
        if (tracker.waiter?.kind === 'suback') this.finish(tracker, true);
        else this.checkVersion(tracker);
        return;
      case 'publish': {
        const at = nowUs();
        if (packet.qos === 1) socket.write(mqttPacket.generate({ cmd: 'puback', messageId: packet.messageId! }));
        if (packet.topic !== tracker.topic) return;
        let version = 0;
        try {
          version = (JSON.parse((packet.payload as Buffer).toString('utf8')) as { version: number }).version;
        } catch {
          return;
        }
        this.configsReceived++;
        if (tracker.firstConfigUs === 0) tracker.firstConfigUs = at;
        if (version > tracker.version) tracker.version = version;
        if (version > tracker.sessionVersion) tracker.sessionVersion = version;
        this.options.onConfig?.({ index: tracker.index, version, atUs: at });
        if (this.ackApplied) {
          socket.write(
            mqttPacket.generate({
              cmd: 'publish',
              topic: `${tracker.topic}/ack`,
              payload: Buffer.from(`{"version":${version},"status":"applied"}`),
              qos: 1,
              messageId: (tracker.nextId = (tracker.nextId % 65535) + 1),
              retain: false,
              dup: false,
            }),
          );
        }
        this.checkVersion(tracker);
        return;
      }
      default:
        return; // puback of our acks
    }
  }

  private checkVersion(tracker: Tracker): void {
    const waiter = tracker.waiter;
    if (waiter?.kind === 'version' && tracker.subackUs >= tracker.connectStartUs && tracker.sessionVersion >= waiter.version) {
      this.finish(tracker, true);
    }
  }
}

/**
 * One publisher client sends `messages` as retained QoS 1 PUBLISHes with at most `window` awaiting
 * their PUBACK (how the Mosquitto baseline gets the same retained configs trackconf serves).
 */
export async function publishRetained(port: number, messages: ReadonlyArray<{ topic: string; payload: Buffer }>, window = 100): Promise<number> {
  const start = nowUs();
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  socket.on('data', (chunk) => parser.parse(chunk));
  let next = 0;
  let acked = 0;
  let inflight = 0;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    const pump = () => {
      while (inflight < window && next < messages.length) {
        const message = messages[next++]!;
        inflight++;
        socket.write(
          mqttPacket.generate({
            cmd: 'publish',
            topic: message.topic,
            payload: message.payload,
            qos: 1,
            retain: true,
            dup: false,
            messageId: (next % 65535) + 1,
          }),
        );
      }
    };
    parser.on('packet', (packet) => {
      if (packet.cmd === 'connack') {
        if (packet.returnCode !== 0) reject(new Error(`publisher refused: ${packet.returnCode}`));
        else pump();
      } else if (packet.cmd === 'puback') {
        inflight--;
        acked++;
        if (acked === messages.length) resolve();
        else pump();
      }
    });
    socket.once('connect', () =>
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'bench-publisher', keepalive: 0 })),
    );
  });
  socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
  return (nowUs() - start) / 1e6;
}
