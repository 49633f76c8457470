import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { Test } from 'tap';
import { waitForPort } from './redis.js';
import { freePort, tempDir } from './server.js';

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

export interface PostgresOptions {
  /** `-c name=value` settings; replaces TEST_SETTINGS (pass `{}` for PostgreSQL's defaults, as the bench does). */
  readonly settings?: Readonly<Record<string, string>>;
}

/** Faster writes: the tests kill trackconf nodes, never the machine, so durability across an OS crash is not what they check. */
export const TEST_SETTINGS: Readonly<Record<string, string>> = { fsync: 'off', full_page_writes: 'off' };

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

/** initdb and postgres refuse to run as root: then they run as `nobody`, owning the temp folder. */
function unprivileged(dir: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  return { uid, gid };
}

/** Debian's PostgreSQL on a free loopback port in a temp folder (socket there too); stopped by pid at teardown. */
export async function startPostgres(t: Test, options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = postgresBin();
  const dir = tempDir(t);
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
  const settings = Object.entries(options.settings ?? TEST_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...settings], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    process.kill(child.pid!, 'SIGINT');
    const timer = setTimeout(() => running() && process.kill(child.pid!, 'SIGKILL'), STOP_DEADLINE_MS);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(stop);
  const failed = () => (running() ? undefined : `postgres exited (${child.exitCode ?? child.signalCode})`);

  const superUrl = (db: string) => `postgres://postgres:${superPassword}@127.0.0.1:${port}/${db}`;
  try {
    await waitForPort(port, READY_DEADLINE_MS, failed);
    await untilQueryWorks(superUrl('postgres'), READY_DEADLINE_MS, failed);
  } catch (err) {
    await stop();
    throw new Error(`postgres did not become ready on 127.0.0.1:${port}: ${(err as Error).message}\nserver log:\n${tail(log)}`);
  }
  await sql(superUrl('postgres'), [`CREATE ROLE trackconf LOGIN PASSWORD '${password}'`, 'CREATE DATABASE trackconf OWNER trackconf']);

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
