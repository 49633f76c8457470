import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The service's one logger: structured JSON on stdout. Credentials never reach it, whatever a
 * future log line includes.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'password',
        'hash',
        '*.password',
        '*.hash',
        '*.secret',
        '*.device_secret',
        '*.api_keys',
      ],
      censor: '[redacted]',
    },
  });
}
