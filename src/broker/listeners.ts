import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { ConnectionGuard, type ConnectionGuardOptions } from './connection-guard.js';

export interface ListenerSpec {
  readonly name: 'mqtt' | 'mqtt-ws' | 'mqtts';
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /**
   * The largest MQTT packet (remaining length) a client may announce; the connection is closed as
   * soon as a fixed header announces more, before the packet is buffered. Unset = MQTT's 256 MiB.
   */
  readonly maxPacketBytes?: number;
  /** Idle and unauthenticated connections (connection-guard.ts); unset = only aedes' 30 s connect timeout. */
  readonly guard?: ConnectionGuardOptions;
}

/** What a packet may carry beyond its payload: topic, packet id, CONNECT's client id and credentials. */
export const PACKET_HEADROOM_BYTES = 4096;

interface PacketParser {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): unknown;
}

/**
 * mqtt-packet (aedes' parser) buffers a whole packet before aedes sees it, whatever length the
 * fixed header announces (up to 256 MiB, even before CONNECT). Cap it at the header: the parser's
 * length step fails the parse, aedes closes the connection, at most one read chunk is held.
 * Returns false when the parser is not the one this was written for (test/reliability catches that).
 */
export function capPacketSize(client: unknown, maxPacketBytes: number): boolean {
  const parser = (client as { _parser?: Partial<PacketParser> } | null)?._parser;
  if (!parser || typeof parser._parseLength !== 'function' || typeof parser._emitError !== 'function') return false;
  const parseLength = parser._parseLength;
  parser._parseLength = function (this: PacketParser): boolean {
    if (!parseLength.call(this)) return false;
    if (this.packet.length <= maxPacketBytes) return true;
    this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds ${maxPacketBytes}`));
    return false;
  };
  return true;
}

export interface Listener {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: NetServer | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts one MQTT listener. TCP and TLS sockets get `noDelay`: with Nagle on, the retained config
 * waits ~40 ms behind the SUBACK.
 */
export async function startListener(broker: Aedes, spec: ListenerSpec): Promise<Listener> {
  const guard = spec.guard && new ConnectionGuard(broker, spec.guard);
  /** false when the guard refused the connection (it was closed). */
  const admitted = (stream: Duplex, address: string | undefined, close: () => void): boolean => {
    if (!guard || guard.admit(stream, address ?? 'unknown', close)) return true;
    close();
    return false;
  };
  let capped = true;
  const handle = (stream: Duplex, req?: Parameters<Aedes['handle']>[1]) => {
    const client = broker.handle(stream, req);
    if (spec.maxPacketBytes !== undefined && capped && !capPacketSize(client, spec.maxPacketBytes)) {
      capped = false;
      broker.emit('clientError', client, new Error('MQTT packet size cap unavailable: mqtt-packet internals changed'));
    }
  };
  if (spec.name === 'mqtt-ws') {
    const http = createHttpServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: 1024 * 1024 });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      if (admitted(stream, req.socket.remoteAddress, () => ws.terminate())) handle(stream, req);
    });
    const port = await listen(http, spec.host, spec.port);
    return {
      name: spec.name,
      port,
      close: async () => {
        guard?.close();
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        await closeServer(http);
      },
    };
  }
  const server = spec.tls
    ? createTlsServer({ cert: spec.tls.cert, key: spec.tls.key, handshakeTimeout: spec.guard?.connectTimeoutMs ?? 120_000 }, (socket) => {
        socket.setNoDelay(true);
        if (admitted(socket, socket.remoteAddress, () => socket.destroy())) handle(socket);
      })
    : createNetServer({ noDelay: true }, (socket) => {
        if (admitted(socket, socket.remoteAddress, () => socket.destroy())) handle(socket);
      });
  const port = await listen(server, spec.host, spec.port);
  return {
    name: spec.name,
    port,
    close: () => {
      guard?.close();
      return closeServer(server);
    },
  };
}
