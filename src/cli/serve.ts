import { startServer } from '../server.js';
import { parseArgs } from './usage-error.js';
import { loadConfigNamingDatabase } from './database.js';

/** After a clean close, how long lingering handles may keep the process alive before it exits anyway. */
const EXIT_GRACE_MS = 2_000;

/**
 * `serve`: runs until SIGTERM/SIGINT, then stops accepting (new requests on open connections get
 * 503), lets accepted requests finish and publish, closes the broker and the database, exits 0.
 * Bounded: if closing takes longer than the request timeout plus 5 s, it exits 1 without waiting.
 */
export async function serve(args: readonly string[]): Promise<number> {
  parseArgs(args, {});
  const config = loadConfigNamingDatabase();
  const server = await startServer(config);
  const shutdownTimeoutMs = config.http.requestTimeoutMs + 5_000;
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.http.log.info({ signal }, 'shutting down');
      const deadline = setTimeout(() => {
        server.http.log.error({ shutdownTimeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, shutdownTimeoutMs);
      deadline.unref();
      server.close().then(
        () => {
          clearTimeout(deadline);
          server.http.log.info('shut down');
          setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
          resolve(0);
        },
        (err: unknown) => {
          clearTimeout(deadline);
          server.http.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
