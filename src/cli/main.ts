#!/usr/bin/env node
import { ConfigError } from '../config/load.js';
import { ProfileLoadError } from '../profiles/index.js';
import { COMMANDS, usage } from './commands.js';
import { UsageError } from './usage-error.js';

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.get(name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  return command.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // Errors a person can act on print one readable line; anything else is a bug: print its stack.
    if (err instanceof ConfigError || err instanceof ProfileLoadError) {
      process.stderr.write(`trackconf: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof UsageError) {
      process.stderr.write(`trackconf: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`trackconf: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
