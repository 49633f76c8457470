/**
 * Debian's PostgreSQL and Redis on free loopback ports in a given folder, for the cluster bench and
 * the tests (test/helpers/postgres.ts and redis.ts add their tap teardown). Stopped by pid.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, spawnPinned } from './proc.js';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** redis-server on `port` (default a free one) with its folder `dir`, no persistence. */
export async function startRedisServer(dir: string, options: { readonly port?: number } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const child = spawnPinned(undefined, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitForListener(port, 10_000, () => (child.exitCode !== null ? `redis-server exited: ${output()}` : undefined));
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.pid!, stop };
}

export interface PostgresServer {
  /** `postgres://trackconf:<pw>@127.0.0.1:<port>/trackconf`, the shape of a production URL. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** A new empty database owned by `trackconf`; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** SIGINT (fast shutdown) by pid, SIGKILL when it has not exited within a deadline; resolves once it has. */
  stop(): Promise<void>;
}

const STOP_DEADLINE_MS = 10_000;
const READY_DEADLINE_MS = 30_000;

/** The newest Debian PostgreSQL's bin folder (its binaries are not on PATH). */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) throw new Error(`no ${root}/<version>/bin/initdb: install Debian's postgresql (.ci/run does)`);
  return join(root, newest, 'bin');
}

/** initdb and postgres refuse to run as root: then they run as `nobody`, owning the folder. */
function unprivileged(dir: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  return { uid, gid };
}

/**
 * A new cluster in `dir` (socket there too) on a free loopback port, with a `trackconf` role owning a
 * `trackconf` database. `settings` are `-c name=value` options: `{}` keeps PostgreSQL's defaults.
 */
export async function startPostgresServer(dir: string, settings: Readonly<Record<string, string>>): Promise<PostgresServer> {
  const bin = postgresBin();
  const user = unprivileged(dir);
  const data = join(dir, 'data');
  const superPassword = randomBytes(12).toString('hex');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${superPassword}\n`);
  if (user) chownSync(pwfile, user.uid, user.gid);

  const initdb = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C'],
    { cwd: dir, encoding: 'utf8', ...user },
  );
  if (initdb.status !== 0) {
    throw new Error(`initdb failed (${initdb.error?.message ?? `exit ${initdb.status}`}):\n${initdb.stdout}${initdb.stderr}`);
  }

  const port = await freePort();
  const options = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const child = spawnPinned(undefined, join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...options], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  const log = collect(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    process.kill(child.pid!, 'SIGINT');
    const timer = setTimeout(() => running() && process.kill(child.pid!, 'SIGKILL'), STOP_DEADLINE_MS);
    await exited;
    clearTimeout(timer);
  };
  const failed = () => (running() ? undefined : `postgres exited (${child.exitCode ?? child.signalCode})`);

  const superUrl = (db: string) => `postgres://postgres:${superPassword}@127.0.0.1:${port}/${db}`;
  try {
    await waitForListener(port, READY_DEADLINE_MS, failed);
    await untilQueryWorks(superUrl('postgres'), READY_DEADLINE_MS, failed);
    await sql(superUrl('postgres'), [`CREATE ROLE trackconf LOGIN PASSWORD '${password}'`, 'CREATE DATABASE trackconf OWNER trackconf']);
  } catch (err) {
    await stop();
    throw new Error(`postgres did not become ready on 127.0.0.1:${port}: ${(err as Error).message}\nserver log:\n${tail(log())}`);
  }

  const urlOf = (db: string) => `postgres://trackconf:${password}@127.0.0.1:${port}/${db}`;
  let created = 0;
  return {
    url: urlOf('trackconf'),
    port,
    pid: child.pid!,
    stop,
    async createDatabase(name = `trackconf_${++created}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`createDatabase: ${JSON.stringify(name)} is not a plain lower-case identifier`);
      await sql(superUrl('postgres'), [`CREATE DATABASE ${name} OWNER trackconf`]);
      return urlOf(name);
    },
  };
}

/** Resolves once something accepts connections on the loopback port; rejects after `ms` or when `failed` says why. */
export async function waitForListener(port: number, ms: number, failed: () => string | undefined = () => undefined): Promise<void> {
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

/** Everything the child wrote to stdout and stderr so far. */
function collect(child: ChildProcess): () => string {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return () => text;
}

async function sql(url: string, statements: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function untilQueryWorks(url: string, ms: number, failed: () => string | undefined): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const why = failed();
    if (why !== undefined) throw new Error(why);
    try {
      await sql(url, ['SELECT 1']);
      return;
    } catch (err) {
      // "the database system is starting up" until recovery ends
      if (Date.now() > deadline) throw new Error(`SELECT 1 still fails after ${ms} ms: ${(err as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
