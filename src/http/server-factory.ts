import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { FastifyServerFactory } from 'fastify';
import type { FastPath } from './fast-path.js';

export interface NodeServerOptions {
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly connectionsCheckingInterval: number;
  readonly requireHostHeader: boolean;
  readonly keepAliveTimeout: number;
  readonly https?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
}

/**
 * fastify's `serverFactory`: the node server fastify would create from the same options (timeouts,
 * keep-alive, TLS; fastify itself adds the clientError handler), with the fast path asked first.
 * fastify sets keepAliveTimeout, requestTimeout and the socket timeout only on servers it creates, so
 * they are set here the same way. Called again for each extra address of a `localhost` listen.
 */
export function serverFactory(options: NodeServerOptions, fast: FastPath): FastifyServerFactory {
  const { keepAliveTimeout, https, ...timeouts } = options;
  const nodeOptions: ServerOptions = timeouts;
  return (handler) => {
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (!fast.take(req, res)) handler(req, res);
    };
    const server: Server = https
      ? createHttpsServer({ ...nodeOptions, cert: https.cert, key: https.key }, onRequest)
      : createHttpServer(nodeOptions, onRequest);
    server.keepAliveTimeout = keepAliveTimeout;
    server.requestTimeout = options.requestTimeout;
    server.setTimeout(0); // fastify's connectionTimeout (0: none)
    return server;
  };
}
