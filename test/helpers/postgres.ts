import type { Test } from 'tap';
import { type PostgresServer, startPostgresServer } from '../../bench/lib/servers.js';
import { tempDir } from './server.js';

export type { PostgresServer };

export interface PostgresOptions {
  /** `-c name=value` settings; replaces TEST_SETTINGS (pass `{}` for PostgreSQL's defaults, as the bench does). */
  readonly settings?: Readonly<Record<string, string>>;
}

/** Faster writes: the tests kill trackconf nodes, never the machine, so durability across an OS crash is not what they check. */
export const TEST_SETTINGS: Readonly<Record<string, string>> = { fsync: 'off', full_page_writes: 'off' };

/** Debian's PostgreSQL on a free loopback port in a temp folder (socket there too); stopped by pid at teardown. */
export async function startPostgres(t: Test, options: PostgresOptions = {}): Promise<PostgresServer> {
  const postgres = await startPostgresServer(tempDir(t), options.settings ?? TEST_SETTINGS);
  t.teardown(postgres.stop);
  return postgres;
}
