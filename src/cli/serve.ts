import { loadConfig } from '../config/load.js';
import { startServer } from '../server.js';
import { parseArgs } from './usage-error.js';

/** `serve`: runs until SIGTERM/SIGINT, then closes listeners, finishes in-flight work, exits 0. */
export async function serve(args: readonly string[]): Promise<number> {
  parseArgs(args, {});
  const server = await startServer(loadConfig());
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.http.log.info({ signal }, 'shutting down');
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          server.http.log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
