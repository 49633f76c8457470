import { type MessagePort, workerData } from 'node:worker_threads';
import pg from 'pg';

/**
 * The thread that talks to PostgreSQL for a synchronous connection (sync-pg.ts): one request at a
 * time, answered on the port, then the shared flag is raised so the waiting thread wakes up.
 */
interface Data {
  readonly url: string;
  readonly flag: Int32Array;
  readonly port: MessagePort;
  readonly applicationName: string;
}

export interface Request {
  readonly sql: string;
  readonly params?: readonly unknown[];
  /** A prepared statement's name: PostgreSQL parses and plans it once per connection. */
  readonly name?: string;
}

export type Reply =
  | { readonly rows: unknown[]; readonly rowCount: number; readonly pid: number; readonly bytea?: readonly string[] }
  | { readonly error: { readonly message: string; readonly code?: string; readonly detail?: string } };

const { url, flag, port, applicationName } = workerData as Data;
// Counts and ids are 64-bit in PostgreSQL; the repositories hold numbers, as with SQLite.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => Number(text));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (text) => Number(text));

const BYTEA = 17;

let client: pg.Client | undefined;
let pid = 0;

async function connected(): Promise<pg.Client> {
  if (client) return client;
  // bounded waits: the node's thread is held while a statement runs (docs/scaling.md#when-something-fails)
  const fresh = new pg.Client({
    connectionString: url,
    application_name: applicationName,
    connectionTimeoutMillis: 5_000,
    query_timeout: 10_000,
    keepAlive: true,
  });
  fresh.on('error', () => {
    // a lost connection: the next request connects again (an open transaction is lost with it)
    if (client === fresh) client = undefined;
  });
  await fresh.connect();
  const result = await fresh.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  pid = result.rows[0]?.pid ?? 0;
  client = fresh;
  return fresh;
}

function answer(reply: Reply): void {
  port.postMessage(reply);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

port.on('message', (request: Request | 'close') => {
  if (request === 'close') {
    const closing = client?.end() ?? Promise.resolve();
    client = undefined;
    closing.then(
      () => answer({ rows: [], rowCount: 0, pid }),
      () => answer({ rows: [], rowCount: 0, pid }),
    );
    return;
  }
  connected()
    .then((db) => db.query({ text: request.sql, values: request.params as unknown[] | undefined, ...(request.name && { name: request.name }) }))
    .then((result: pg.QueryResult | pg.QueryResult[]) => {
      // several statements in one text (a migration) answer with one result each: the last one counts
      const last = Array.isArray(result) ? result.at(-1) : result;
      // a Buffer crosses the thread as a plain Uint8Array: name the columns to make Buffers again
      const bytea = (last?.fields ?? []).filter((field) => field.dataTypeID === BYTEA).map((field) => field.name);
      return { rows: last?.rows ?? [], rowCount: last?.rowCount ?? 0, pid, ...(bytea.length > 0 && { bytea }) };
    })
    .then(answer, (err: { message?: string; code?: string; detail?: string }) =>
      answer({ error: { message: err.message ?? String(err), ...(err.code && { code: err.code }), ...(err.detail && { detail: err.detail }) } }),
    );
});
