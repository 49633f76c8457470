import { backup } from './backup.js';
import { demo } from './demo.js';
import { importCommand } from './import.js';
import { serve } from './serve.js';
import { simulate } from './simulate.js';

export interface Command {
  readonly summary: string;
  run(args: readonly string[]): Promise<number>;
}

/** Every CLI command (README.md#cli). */
export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ['serve', { summary: 'serve        run the HTTP API and the MQTT broker (what `npm start` runs)', run: serve }],
  ['import', { summary: 'import <file.json>  provision users, sub-users, models and trackers (prints a JSON report)', run: importCommand }],
  ['backup', { summary: 'backup <file> [--force] [--step <pages>]  a consistent copy of the SQLite database, also while the service runs', run: backup }],
  ['demo', { summary: 'demo [--json]  seed a demo account and print how to try it', run: demo }],
  [
    'simulate',
    {
      summary:
        'simulate [--device id:secret]... [--count N] [--url mqtt://…] [--until-applied] [--json]\n               connect simulated trackers that apply and acknowledge their config',
      run: simulate,
    },
  ],
]);

export function usage(): string {
  const lines = [...COMMANDS.values()].map((c) => `  ${c.summary}`);
  return `usage: trackconf <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nconfiguration: config/default.json, TRACKCONF_CONFIG, TRACKCONF_* variables (see README)\n`;
}
