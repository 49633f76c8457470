import { createConnection } from 'node:net';
import pg from 'pg';
import t from 'tap';
import { startPostgres } from './postgres.js';

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows;
  } finally {
    await client.end();
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('a PostgreSQL server: connect with the production-shaped URL, create a database, stop by pid', async (t) => {
  const server = await startPostgres(t);
  t.match(server.url, new RegExp(`^postgres://trackconf:[0-9a-f]+@127\\.0\\.0\\.1:${server.port}/trackconf$`));
  t.same(await query(server.url, 'SELECT current_user AS "user", current_database() AS db'), [{ user: 'trackconf', db: 'trackconf' }]);
  t.same(await query(server.url, 'SHOW fsync'), [{ fsync: 'off' }], 'the test settings apply');

  const fresh = await server.createDatabase();
  t.not(fresh, server.url);
  t.same(await query(fresh, 'SELECT current_database() AS db'), [{ db: 'trackconf_1' }]);
  await query(fresh, 'CREATE TABLE probe (id int)');
  t.same(await query(fresh, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [{ n: 1 }], 'the owner may create tables');
  t.same(await query(server.url, "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"), [{ n: 0 }], 'the other database stays empty');
  t.equal(await server.createDatabase('named_one'), server.url.replace(/\/trackconf$/, '/named_one'));
  await t.rejects(server.createDatabase('Bad-Name'), /not a plain lower-case identifier/);

  t.ok(alive(server.pid));
  await server.stop();
  t.notOk(alive(server.pid), 'the process is gone');
  t.notOk(await portAccepts(server.port), 'the port is closed');
  await server.stop(); // twice is harmless (teardown calls it again)
});

t.test('settings replace the test ones; PostgreSQL defaults when empty', async (t) => {
  const server = await startPostgres(t, { settings: {} });
  t.same(await query(server.url, 'SHOW fsync'), [{ fsync: 'on' }]);
});

t.test('a server that cannot start says why, with its log', async (t) => {
  await t.rejects(startPostgres(t, { settings: { no_such_setting: '1' } }), /postgres exited[\s\S]*no_such_setting/);
});
