import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { redactedUrl } from '../store/index.js';

/**
 * The configuration of a command that opens the database, after naming that database on stderr in
 * one line: the default path (`./data/trackconf.db`) follows the current directory, so `demo` run
 * from elsewhere would otherwise seed another database without a word (README.md#configuration).
 */
export function loadConfigNamingDatabase(): Readonly<Config> {
  const config = loadConfig();
  const named = config.databaseUrl ? `${redactedUrl(config.databaseUrl)} (PostgreSQL)` : config.db === ':memory:' ? config.db : resolve(config.db);
  process.stderr.write(`trackconf: database ${named}\n`);
  return config;
}
