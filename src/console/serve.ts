import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { packageRoot } from '../config/load.js';

/**
 * The operator console's own policy (docs/console.md#security): scripts, styles and calls from this
 * origin only; no inline code, no eval, no frames, no other host.
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

function readAssets(dir: string, prefix: string, into: Map<string, Asset>): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const type = TYPES[name.slice(name.lastIndexOf('.'))];
    if (type !== undefined) into.set(`${prefix}${name}`, { type, body: readFileSync(join(dir, name)) });
  }
}

/**
 * The console's files, read once: the HTML and CSS from the repository (src/console/static) and the
 * scripts tsc compiled from src/console/ui into dist/ (`npm ci` runs `prepare`).
 */
export function consoleAssets(root = packageRoot): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  readAssets(join(root, 'src/console/static'), '', assets);
  readAssets(join(root, 'dist/src/console/ui'), 'ui/', assets);
  return assets;
}

/**
 * `GET /console/` and its files (docs/console.md). In a scope of its own, so its onSend hook runs
 * after the API's and replaces the API's `default-src 'none'` policy with the console's.
 */
export function registerConsole(app: FastifyInstance, assets: ReadonlyMap<string, Asset> = consoleAssets()): void {
  app.register(async (scope) => {
    scope.addHook('onSend', async (_request, reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
    });
    const send = (name: string) => async (_request: unknown, reply: FastifyReply) => {
      const asset = assets.get(name);
      if (asset === undefined) return reply.code(404).type('text/plain; charset=utf-8').send('not found');
      return reply.type(asset.type).send(asset.body);
    };
    scope.get('/console/', send('index.html'));
    scope.get<{ Params: { '*': string } }>('/console/*', (request, reply) => send(request.params['*'])(request, reply));
  });
}
