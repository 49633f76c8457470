import { MIGRATIONS } from '../migrations.js';
import { repositories, type Store } from '../index.js';
import { SettingsRepository } from '../settings.js';
import { Writes } from '../writes.js';
import { ChangeListener } from './change-listener.js';
import { PG_MIGRATIONS } from './migrations.js';
import { NotifiedFreshness } from './notified-freshness.js';
import { PgDb } from './pg-db.js';
import { SyncPg } from './sync-pg.js';

/** Advisory lock keys (any two numbers no other application of the database uses). */
const SCHEMA_LOCK = "hashtext('trackconf schema')";
const NODES_LOCK = "hashtext('trackconf nodes')";

/** SQLSTATEs after which a transaction may simply run again: unique violation, serialization failure, deadlock. */
/** Another node wrote the row first (unique violation, serialization failure): the write may run again. */
const RETRY_WRITE = new Set(['23505', '40001']);
/** deadlock_detected: this transaction was chosen to give way, all of it. */
const RETRY_TRANSACTION = new Set(['40P01']);

export interface PgStoreOptions {
  /** This process' name as PostgreSQL shows it (pg_stat_activity). */
  readonly applicationName?: string;
}

/** Opens the PostgreSQL database at `url`, creating or migrating its schema under a lock (docs/scaling.md). */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<Store> {
  const connection = await SyncPg.open(url, options.applicationName ?? 'trackconf');
  let db: PgDb;
  try {
    db = new PgDb(connection);
    migrate(db);
  } catch (err) {
    connection.close();
    throw err;
  }
  const writes = new Writes();
  const freshness = new NotifiedFreshness(db);
  const settings = new SettingsRepository(db, writes, freshness, undefined, { answerByAnswer: true, lockDevices: true });
  let listener: ChangeListener | undefined;
  return {
    backend: 'postgres',
    db,
    freshness,
    ...repositories(db, writes, freshness, settings),
    transaction: db.transaction(<T>(fn: () => T): T => fn()) as <T>(fn: () => T) => T,
    // PostgreSQL's COMMIT returns once the commit is durable (synchronous_commit on)
    durable: () => undefined,
    settingsDurable: () => undefined,
    checkpointNow: () => undefined,
    walBytes: () => 0,
    failure: () => connection.failed,
    retryable: (err) => {
      const code = (err as { code?: unknown }).code as string;
      return RETRY_WRITE.has(code) ? 'write' : RETRY_TRANSACTION.has(code) ? 'transaction' : undefined;
    },
    async watchOtherNodes(warn) {
      listener = new ChangeListener({
        url,
        ownPid: () => connection.backendPid,
        changed: (table) => freshness.changedElsewhere(table),
        listening: (up) => freshness.setListening(up),
        warn,
      });
      await listener.start();
    },
    claimNode(shared) {
      const fn = shared ? 'pg_try_advisory_lock_shared' : 'pg_try_advisory_lock';
      const [row] = db.query<{ ok: boolean }>(`SELECT ${fn}(${NODES_LOCK}) AS ok`);
      if (row?.ok) return undefined;
      return shared
        ? 'a node without TRACKCONF_REDIS_URL serves this database: every node of one database needs the same TRACKCONF_REDIS_URL'
        : 'another node serves this database: more than one node needs TRACKCONF_REDIS_URL (Redis) on every node';
    },
    close: () => {
      if (!db.open) return;
      try {
        settings.flushPending();
      } finally {
        void listener?.stop();
        db.close();
      }
    },
  };
}

function migrate(db: PgDb): void {
  if (PG_MIGRATIONS.length !== MIGRATIONS.length) throw new Error("the PostgreSQL migrations are out of step with SQLite's");
  // several nodes starting at once: one migrates, the others wait and find it done
  db.exec(`SELECT pg_advisory_lock(${SCHEMA_LOCK})`);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS trackconf_schema (version integer NOT NULL)');
    const [row] = db.query<{ version: number }>('SELECT version FROM trackconf_schema');
    const current = row?.version ?? 0;
    if (row === undefined) db.exec('INSERT INTO trackconf_schema (version) VALUES (0)');
    if (current > PG_MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this trackconf (${PG_MIGRATIONS.length})`);
    }
    for (let version = current; version < PG_MIGRATIONS.length; version++) {
      db.transaction(() => {
        db.exec(PG_MIGRATIONS[version]!);
        db.exec(`UPDATE trackconf_schema SET version = ${version + 1}`);
      })();
    }
  } finally {
    db.exec(`SELECT pg_advisory_unlock(${SCHEMA_LOCK})`);
  }
}
