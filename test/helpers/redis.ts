import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import type { Test } from 'tap';
import { freePort, tempDir } from './server.js';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Debian's redis-server on a free loopback port (or `port`: a restart where the last one was) in a
 * temp folder, no persistence; stopped by pid at teardown.
 */
export async function startRedis(t: Test, options: { readonly port?: number } = {}): Promise<RedisServer> {
  const dir = tempDir(t);
  const port = options.port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(stop);
  await waitForPort(port, 10_000, () => (child.exitCode !== null ? `redis-server exited: ${output}` : undefined));
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}

/** Resolves once something accepts connections on the loopback port; rejects after `ms` or when `failed` says why. */
export async function waitForPort(port: number, ms: number, failed: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const why = failed();
    if (why !== undefined) throw new Error(why);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
