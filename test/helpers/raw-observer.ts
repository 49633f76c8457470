/**
 * An MQTT 3.1.1 client over a raw socket that keeps every packet it receives: hostile-client tests
 * send what mqtt.js would refuse (many filters in one SUBSCRIBE, 64 KB filters, QoS 2 without PUBREL)
 * and read SUBACK return codes as sent.
 */
import type { Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { Test } from 'tap';
import { mqttBytes, rawSocket } from './lite-mqtt.js';
import { until } from './mqtt.js';

export interface RawClient {
  readonly socket: Socket;
  readonly packets: mqttPacket.Packet[];
  closed: boolean;
  /** SUBSCRIBE `filters` (QoS 1) in one packet; resolves with the SUBACK's return codes. */
  subscribe(filters: readonly string[], qos?: 0 | 1 | 2): Promise<number[]>;
  send(packet: mqttPacket.Packet): void;
  end(): Promise<void>;
}

let nextMessageId = 1;

/** Connects and resolves once CONNACK 0 arrived; QoS 1 PUBLISHes are PUBACKed when `puback`. */
export async function rawClient(
  t: Test,
  port: number,
  connect: { clientId: string; username: string; password: string; clean?: boolean },
  options: { puback?: boolean } = {},
): Promise<RawClient> {
  const socket = await rawSocket(port);
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const packets: mqttPacket.Packet[] = [];
  const client: RawClient = {
    socket,
    packets,
    closed: false,
    async subscribe(filters, qos = 1) {
      const messageId = (nextMessageId = (nextMessageId % 65535) + 1);
      socket.write(mqttBytes({ cmd: 'subscribe', messageId, subscriptions: filters.map((topic) => ({ topic, qos })) }));
      await until(() => packets.some((p) => p.cmd === 'suback' && p.messageId === messageId) || client.closed, 15_000, 'SUBACK');
      const suback = packets.find((p) => p.cmd === 'suback' && p.messageId === messageId) as mqttPacket.ISubackPacket | undefined;
      if (!suback) throw new Error('closed before SUBACK');
      return suback.granted as number[];
    },
    send: (packet) => socket.write(mqttBytes(packet)),
    async end() {
      socket.end(mqttBytes({ cmd: 'disconnect' }));
      await until(() => client.closed, 5_000, 'close');
    },
  };
  parser.on('packet', (packet) => {
    packets.push(packet);
    if (options.puback !== false && packet.cmd === 'publish' && packet.qos === 1) {
      socket.write(mqttBytes({ cmd: 'puback', messageId: packet.messageId! }));
    }
  });
  socket.on('data', (chunk: Buffer) => parser.parse(chunk));
  socket.on('close', () => (client.closed = true));
  socket.write(
    mqttBytes({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: connect.clientId,
      username: connect.username,
      password: Buffer.from(connect.password),
      clean: connect.clean ?? true,
      keepalive: 0,
    }),
  );
  await until(() => packets.some((p) => p.cmd === 'connack') || client.closed, 15_000, 'CONNACK');
  const connack = packets.find((p) => p.cmd === 'connack') as mqttPacket.IConnackPacket | undefined;
  if (connack?.returnCode !== 0) throw Object.assign(new Error(`CONNACK ${connack?.returnCode}`), { code: connack?.returnCode });
  return client;
}
