import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SECURITY_HEADERS } from '../http/headers.js';
import { ConnectionGuard, type ConnectionGuardOptions } from './connection-guard.js';

export interface ListenerSpec {
  readonly name: 'mqtt' | 'mqtt-ws' | 'mqtts';
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Idle and unauthenticated connections (connection-guard.ts); unset = only aedes' 30 s connect timeout. */
  readonly guard?: ConnectionGuardOptions;
}

/** Where MQTT over WebSocket is served (docs/mqtt.md). */
const WS_PATH = '/mqtt';

/** What a packet may carry beyond its payload: topic, packet id, CONNECT's client id and credentials. */
export const PACKET_HEADROOM_BYTES = 4096;

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
 * Starts one MQTT listener; `onConnection` gets each client aedes creates (the packet size cap of
 * aedes-internals/). TCP and TLS sockets get `noDelay`: with Nagle on, the retained config
 * waits ~40 ms behind the SUBACK.
 */
export async function startListener(broker: Aedes, spec: ListenerSpec, onConnection?: (client: unknown) => void): Promise<Listener> {
  const guard = spec.guard && new ConnectionGuard(broker, spec.guard);
  /** false when the guard refused the connection (it was closed). */
  const admitted = (stream: Duplex, address: string | undefined, close: () => void): boolean => {
    if (!guard || guard.admit(stream, address ?? 'unknown', close)) return true;
    close();
    return false;
  };
  const handle = (stream: Duplex, req?: Parameters<Aedes['handle']>[1]) => {
    const client = broker.handle(stream, req);
    onConnection?.(client);
  };
  if (spec.name === 'mqtt-ws') {
    // A plain HTTP request (no upgrade) gets nothing but the security headers every answer carries.
    const http = createHttpServer((req, res) => {
      const path = (req.url ?? '').split('?', 1)[0];
      if (path === WS_PATH) res.writeHead(426, { ...SECURITY_HEADERS, upgrade: 'websocket' }).end();
      else res.writeHead(404, SECURITY_HEADERS).end();
    });
    const wss = new WebSocketServer({ server: http, path: WS_PATH, maxPayload: 1024 * 1024 });
    // ws re-emits the HTTP server's errors (a port in use) on itself: `listen` below reports them
    wss.on('error', () => undefined);
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
