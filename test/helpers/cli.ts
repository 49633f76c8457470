import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI (dist/ exists after `npm ci`, whose prepare script compiles). */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** On a fresh checkout without a build, compile once so tests of the built CLI can run. */
export function ensureBuilt(): string {
  if (!['main.js', 'import.js', 'demo.js', 'simulate.js'].every((f) => existsSync(join(ROOT, 'dist', 'src', 'cli', f)))) {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing and \`npx tsc -p tsconfig.json\` did not build it`);
  return CLI;
}

/** Runs the built CLI to completion against the database `db`. */
export function runCli(db: string, args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [ensureBuilt(), ...args], {
    cwd: ROOT,
    env: { ...process.env, TRACKCONF_DB: db, TRACKCONF_CONFIG: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
