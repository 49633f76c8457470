/** The packet-size cap on mqtt-packet's parser alone (docs/aedes-internals.md), without a broker. */
import mqttPacket from 'mqtt-packet';
import t from 'tap';
import { cappable, capPacketSize } from '../../../src/broker/aedes-internals/packet-size-cap.js';

function cappedParser(max: number) {
  const parser = mqttPacket.parser({ protocolVersion: 4 });
  const seen = { packets: [] as mqttPacket.Packet[], errors: [] as Error[] };
  parser.on('packet', (packet) => seen.packets.push(packet));
  parser.on('error', (err) => seen.errors.push(err));
  t.ok(capPacketSize({ _parser: parser }, max), 'installed on the real parser');
  return { parser, seen };
}

const publish = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes, 0x20), qos: 0, retain: false, dup: false });

t.test('a packet within the cap is parsed as before', async (t) => {
  const { parser, seen } = cappedParser(100);
  parser.parse(publish(50));
  t.equal(seen.packets.length, 1);
  t.equal(seen.errors.length, 0);
});

t.test('a packet over the cap fails at its fixed header', async (t) => {
  const { parser, seen } = cappedParser(100);
  parser.parse(publish(200));
  t.equal(seen.packets.length, 0, 'not parsed');
  t.match(seen.errors[0]?.message, /exceeds 100/);
});

t.test('a header announcing 256 MiB fails before any of the body arrives', async (t) => {
  const { parser, seen } = cappedParser(1024);
  parser.parse(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
  t.equal(seen.packets.length, 0);
  t.match(seen.errors[0]?.message, /bytes exceeds 1024/);
});

t.test('anything but that parser is refused, not patched', async (t) => {
  t.notOk(capPacketSize({}, 100), 'a client without a parser');
  t.notOk(capPacketSize(null, 100), 'no client');
  t.notOk(cappable({ _parseLength: () => true }), 'a parser without _emitError');
});
