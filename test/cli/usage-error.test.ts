import t from 'tap';
import { parseArgs, UsageError } from '../../src/cli/usage-error.js';

const spec = { url: { type: 'string' }, json: { type: 'boolean' }, device: { type: 'string', multiple: true } } as const;

t.test('options and positionals', async (t) => {
  const { values, positionals } = parseArgs(['a.json', '--url', 'mqtt://x', '--json', '--device=d1:s', '--device', 'd2:s'], spec);
  t.same(positionals, ['a.json']);
  t.same(values, { url: 'mqtt://x', json: true, device: ['d1:s', 'd2:s'] });
});

t.test('mistakes are usage errors in the CLI words (exit 1)', async (t) => {
  t.throws(() => parseArgs(['--bogus'], spec), new UsageError('unknown option --bogus'));
  t.throws(() => parseArgs(['--url'], spec), new UsageError('--url needs a value'));
  t.throws(() => parseArgs(['--json=yes'], spec), new UsageError('--json takes no value'));
  t.throws(() => parseArgs(['-x'], spec), UsageError);
});
