import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadConfigNamingDatabase } from './database.js';
import { parseArgs, UsageError } from './usage-error.js';

/** Pages copied per step unless --step says otherwise (the copy reads one snapshot throughout). */
const PAGES_PER_STEP = 256;

/** Flushes a file (or a folder's entry for it) to disk. */
function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `backup <file> [--force]` (docs/operations.md#backup-and-restore): a consistent copy of the
 * database, also while the service runs. Its own connection holds one read transaction for the
 * whole copy: in WAL mode a reader never blocks the writer, so the service keeps answering, and
 * SQLite's backup steps all read that one snapshot (without it each commit of the service would
 * restart the copy). The snapshot holds every update answered before it began (an answer waits for
 * its commit to be on disk). Written to a temporary file, flushed, then renamed into place.
 */
export async function backup(args: readonly string[]): Promise<number> {
  const { values: options, positionals: positional } = parseArgs(args, { force: { type: 'boolean' }, step: { type: 'string' } });
  if (positional.length !== 1) throw new UsageError('usage: trackconf backup <file> [--force] [--step <pages>]');
  const step = options.step === undefined ? PAGES_PER_STEP : Number(options.step);
  if (!Number.isInteger(step) || step < 1) throw new UsageError('--step wants a whole number of pages, 1 or more');
  if (process.env.TRACKCONF_DATABASE_URL) {
    process.stderr.write('trackconf backup: the database is PostgreSQL (TRACKCONF_DATABASE_URL): back it up with pg_dump\n');
    return 2;
  }
  const target = resolve(positional[0]!);
  const config = loadConfigNamingDatabase();
  const source = resolve(config.db);
  if (!existsSync(source)) throw new UsageError(`backup: no database at ${source} (TRACKCONF_DB)`);
  if (target === source) throw new UsageError('backup: the target is the database itself');
  if (existsSync(target) && options.force !== true) throw new UsageError(`backup: ${target} exists (--force replaces it)`);

  const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  const db = new Database(source, { fileMustExist: true });
  const started = Date.now();
  let pages = 0;
  let shown = -1;
  const progress = (total: number, remaining: number): void => {
    const percent = total === 0 ? 100 : Math.floor(((total - remaining) / total) * 100);
    if (percent !== 100 && percent - shown < 10) return; // a line per tenth at most
    shown = percent;
    process.stderr.write(`backup: ${percent}% (${total - remaining}/${total} pages)\n`);
  };
  try {
    db.pragma('busy_timeout = 5000');
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_schema').get(); // takes the snapshot now
    const result = await db.backup(temporary, {
      progress: ({ totalPages, remainingPages }) => {
        progress(totalPages, remainingPages);
        return step;
      },
    });
    pages = result.totalPages;
    progress(pages, 0);
    db.exec('COMMIT');
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  } finally {
    db.close();
  }
  fsyncPath(temporary);
  renameSync(temporary, target);
  fsyncPath(dirname(target));
  const line = { backup: target, source, pages, bytes: statSync(target).size, ms: Date.now() - started };
  process.stdout.write(`${JSON.stringify(line)}\n`);
  return 0;
}
