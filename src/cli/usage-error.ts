import { parseArgs as parseNodeArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: printed as one line, exit 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type OptionsSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * A command's options and positional arguments (`node:util` parseArgs: `--flag value`, `--flag=value`,
 * `--switch`); a mistake is a UsageError in the CLI's own words.
 */
export function parseArgs<const T extends OptionsSpec>(args: readonly string[], options: T) {
  try {
    return parseNodeArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const flag = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${flag}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(/does not take an argument/.test(message) ? `${flag} takes no value` : `${flag} needs a value`);
    }
    throw err;
  }
}
