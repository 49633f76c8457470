import { hostname } from 'node:os';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The service's one logger: structured JSON on stdout. Credentials never reach it, whatever a
 * future log line includes.
 */
/** Every place a credential could sit in a logged object, one and two levels deep. */
const SECRET_KEYS = ['password', 'hash', 'secret', 'device_secret', 'api_key', 'api_keys', 'apiKey', 'token', 'authorization', 'cookie'];

export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

/** A request as logged: method and path, never the query string (a `hash` may ride in it). */
function requestSerializer(req: { method?: unknown; url?: unknown; ip?: unknown }) {
  const url = typeof req.url === 'string' ? req.url.split('?', 1)[0] : undefined;
  return { method: req.method, url, remoteAddress: req.ip };
}

/** This process' name in logs and metrics when none is configured: host name and pid. */
export function defaultNodeId(): string {
  return `${hostname()}:${process.pid}`;
}

/**
 * The service's one logger: structured JSON on stdout (or `destination`). Credentials never reach
 * it, whatever a future log line includes: known keys are censored, request URLs lose their query.
 * Every line carries `node` (docs/operations.md#logs).
 */
export function createLogger(level: string, destination?: DestinationStream, node: string = defaultNodeId()): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, hostname: hostname(), node },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      serializers: { req: requestSerializer },
    },
    destination,
  );
}
