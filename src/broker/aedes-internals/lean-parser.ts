/**
 * A lighter mqtt-packet parser for each MQTT connection aedes opens.
 *
 * Why: mqtt-packet 9's parser keeps a connection's unparsed bytes in a `bl` BufferListStream, a
 * full readable-stream Duplex (two stream states, listeners, an event emitter) created for every
 * connection, although the parser only uses it as a list of buffers (append, consume, read*,
 * slice, toString). That Duplex was half of the cost of aedes' Client constructor and about 0.7 KB
 * of heap per connected tracker. The parser made here is mqtt-packet's own Parser class with the
 * same state, holding a plain `BufferList` (bl's list without the stream: the same methods, the
 * same code) and sharing one read-only `_states` array. After an error mqtt-packet's `_resetState`
 * gives it a BufferListStream again, as before.
 *
 * How: aedes' Client constructor calls `mqtt.parser()` on mqtt-packet's module object;
 * `withLeanParser` points that at the lean factory for the (synchronous) duration of one
 * `aedes.handle` call only, so every other user of mqtt-packet in the process is unaffected.
 *
 * Guards: only mqtt-packet 9.0.2 (the version read), and at install a self-test parses sample
 * packets with both parsers and compares them; test/broker/lean-clients.test.ts fails when
 * mqtt-packet's parser.js changes.
 */
import { createRequire } from 'node:module';

/** The mqtt-packet release whose parser.js this follows. */
export const LEAN_MQTT_PACKET_VERSION = '9.0.2';

type Listener = (packet: Record<string, unknown>) => void;

interface Parser {
  settings: object;
  _states: readonly string[];
  packet: object;
  error: Error | null;
  _list: { append(buf: Buffer): unknown; consume(n: number): unknown; length: number };
  _stateCounter: number;
  parse(buf: Buffer): number;
  on(event: 'packet' | 'error', listener: Listener): unknown;
}

interface MqttPacketModule {
  parser(opt?: object): Parser;
}

export interface LeanParser {
  /** Runs `fn` (one synchronous `aedes.handle` call) with mqtt-packet's `parser()` making lean parsers. */
  withLeanParser<T>(fn: () => T): T;
  /**
   * Once CONNECT is handled: the parser keeps the whole CONNECT packet as its `settings` (password
   * included) for the connection's lifetime but reads only `protocolVersion` and `bridgeMode` from
   * it; keep those two.
   */
  forgetConnect(parser: unknown): void;
}

const STATES = Object.freeze(['_parseHeader', '_parseLength', '_parsePayload', '_newPacket']);

/** `aedesRoot`: the URL of aedes' entry file, so that mqtt-packet resolves to aedes' own copy. */
export function leanParser(aedesRoot: string): LeanParser | string {
  const require = createRequire(aedesRoot);
  let mqtt: MqttPacketModule;
  let version: unknown;
  let BufferList: new () => Parser['_list'];
  try {
    mqtt = require('mqtt-packet') as MqttPacketModule;
    version = (require('mqtt-packet/package.json') as { version?: unknown }).version;
    BufferList = (createRequire(require.resolve('mqtt-packet'))('bl') as { BufferList: typeof BufferList }).BufferList;
  } catch (err) {
    return `mqtt-packet not found: ${(err as Error).message}`;
  }
  if (version !== LEAN_MQTT_PACKET_VERSION) return `mqtt-packet ${String(version)} is not ${LEAN_MQTT_PACKET_VERSION}`;
  const stockFactory = mqtt.parser;
  const sample = stockFactory();
  const ParserClass = sample.constructor as new () => Parser;
  const PacketClass = sample.packet.constructor as new () => object;
  if (
    typeof BufferList !== 'function' ||
    JSON.stringify(sample._states) !== JSON.stringify(STATES) ||
    sample._stateCounter !== 0 ||
    typeof sample._list?.append !== 'function'
  ) {
    return 'mqtt-packet parser internals changed';
  }

  /** mqtt-packet's `Parser.parser(opt)` and `_resetState()`, with a BufferList. */
  const leanFactory = (opt?: object): Parser => {
    const parser = new ParserClass();
    parser.settings = opt || {};
    parser._states = STATES;
    parser.packet = new PacketClass();
    parser.error = null;
    parser._list = new BufferList();
    parser._stateCounter = 0;
    return parser;
  };
  if (!sameParse(stockFactory, leanFactory)) return 'lean mqtt-packet parser self-test failed';

  return {
    withLeanParser<T>(fn: () => T): T {
      mqtt.parser = leanFactory;
      try {
        return fn();
      } finally {
        mqtt.parser = stockFactory;
      }
    },
    forgetConnect(parser: unknown): void {
      const target = parser as { settings?: { protocolVersion?: unknown; bridgeMode?: unknown } } | null;
      const settings = target?.settings;
      if (settings) target.settings = { protocolVersion: settings.protocolVersion, bridgeMode: settings.bridgeMode };
    },
  };
}

/** Both parsers turn the same bytes, split at every offset, into the same packets. */
function sameParse(stock: () => Parser, lean: () => Parser): boolean {
  // CONNECT (client id c, user u, password p, keepalive 30), SUBSCRIBE a/b QoS 1 (id 7), PUBLISH
  // a/b/ack QoS 1 (id 9), PUBACK (id 3), PINGREQ. Written out: mqtt-packet's generate() would build
  // its 65,536-buffer number cache now instead of at the first packet aedes writes.
  const bytes = Buffer.from('101300044d51545404c2001e000163000175000170820800070003612f620132120007612f622f61636b00097b2276223a317d40020003c000', 'hex');
  const run = (make: () => Parser, split: number): string => {
    const parser = make();
    const out: unknown[] = [];
    parser.on('packet', (packet) => out.push(packet));
    parser.on('error', (err) => out.push(String(err)));
    parser.parse(bytes.subarray(0, split));
    parser.parse(bytes.subarray(split));
    return JSON.stringify(out);
  };
  const expected = run(stock, 0);
  for (let split = 0; split <= bytes.length; split++) if (run(lean, split) !== expected) return false;
  return expected.includes('"cmd":"pingreq"');
}
