/** A mistake in how the command was called: printed as one line, exit 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Splits `--flag value`, `--flag=value` and `--switch` options from positional arguments. */
export function parseArgs(
  args: readonly string[],
  spec: Readonly<Record<string, 'string' | 'boolean' | 'list'>>,
): { options: Record<string, string | boolean | string[]>; positional: string[] } {
  const options: Record<string, string | boolean | string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const kind = spec[flag];
    if (!kind) throw new UsageError(`unknown option --${flag}`);
    if (kind === 'boolean') {
      options[flag] = true;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`--${flag} needs a value`);
    if (kind === 'list') options[flag] = [...((options[flag] as string[] | undefined) ?? []), value];
    else options[flag] = value;
  }
  return { options, positional };
}
