import { JsonFileError, readJson } from '../json.js';
import { openCore } from '../server.js';
import { provision, ProvisioningError } from '../settings/provisioning.js';
import { parseArgs, UsageError } from './usage-error.js';
import { loadConfigNamingDatabase } from './database.js';

function readFile(file: string): unknown {
  try {
    return readJson(file);
  } catch (err) {
    throw err instanceof JsonFileError ? new UsageError(`${file}: ${err.message}`) : err;
  }
}

/**
 * `import <file.json>` (docs/provisioning.md): provisions users, sub-users, models and trackers in one transaction,
 * prints the report as JSON. A refused file prints every problem on stderr, exits 1 and changes nothing.
 * Safe while the server runs (WAL, busy timeout, IMMEDIATE transaction).
 */
export async function importCommand(args: readonly string[]): Promise<number> {
  const { positionals } = parseArgs(args, {});
  if (positionals.length !== 1) throw new UsageError('usage: trackconf import <file.json>');
  const file = positionals[0]!;
  // The file first: a bad path or invalid JSON must not even open (or create) the database.
  const input = readFile(file);
  const config = loadConfigNamingDatabase();
  const { store, profiles } = await openCore(config);
  try {
    const report = await provision(store, profiles, input);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ProvisioningError) {
      process.stderr.write(`trackconf: ${file}: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    store.close();
  }
}
