/**
 * Two in-process nodes of one service on either backend (docs/scaling.md): one SQLite file both open,
 * or one PostgreSQL database (a fresh one per call, on one server per test process).
 */
import { join } from 'node:path';
import tap, { type Test } from 'tap';
import { startPostgres, type PostgresServer } from './postgres.js';
import { startTestServer, tempDir, type TestServer } from './server.js';

export type Backend = 'sqlite' | 'postgres';
/** The backends a multi-node test file runs its tests on. */
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

export interface TwoNodes {
  readonly a: TestServer;
  readonly b: TestServer;
  /** Variables that point the CLI (runCli) at the same database. */
  readonly cliEnv: Record<string, string>;
  /** The database file (SQLite) runCli is given; unused when cliEnv names PostgreSQL. */
  readonly dbFile: string;
}

let postgres: Promise<PostgresServer> | undefined;

/** Nodes A (with the standard fleet) and B (fleet: null) sharing one database; `config` goes to both. */
export async function twoNodesOn(t: Test, backend: Backend, config: Record<string, unknown>): Promise<TwoNodes> {
  if (backend === 'sqlite') {
    // a file named for both, so that TRACKCONF_TEST_POSTGRES=1 does not put node A alone on PostgreSQL
    const dbFile = join(tempDir(t), 'trackconf.db');
    const a = await startTestServer(t, { config, dbFile });
    const b = await startTestServer(t, { config, dbFile, fleet: null });
    return { a, b, cliEnv: {}, dbFile };
  }
  postgres ??= startPostgres(tap as unknown as Test);
  const databaseUrl = await (await postgres).createDatabase();
  const shared = { ...config, databaseUrl };
  const a = await startTestServer(t, { config: shared });
  const b = await startTestServer(t, { config: shared, fleet: null });
  return { a, b, cliEnv: { TRACKCONF_DATABASE_URL: databaseUrl }, dbFile: a.dbFile };
}
