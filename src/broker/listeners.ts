import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { SECURITY_HEADERS } from '../http/headers.js';

export interface ListenerSpec {
  readonly name: 'mqtt' | 'mqtt-ws' | 'mqtts';
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
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
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => ws.terminate());
      handle(stream, req);
    });
    const port = await listen(http, spec.host, spec.port);
    return {
      name: spec.name,
      port,
      close: async () => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        await closeServer(http);
      },
    };
  }
  const server = spec.tls
    ? createTlsServer({ cert: spec.tls.cert, key: spec.tls.key }, (socket) => {
        socket.setNoDelay(true);
        handle(socket);
      })
    : createNetServer({ noDelay: true }, (socket) => handle(socket));
  const port = await listen(server, spec.host, spec.port);
  return { name: spec.name, port, close: () => closeServer(server) };
}
