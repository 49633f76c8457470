import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI: `npm test` builds dist/ before tap runs, so these tests run what was just compiled. */
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

/** The built CLI's path; a clear error when dist/ is missing (a test file run alone: `npm run build` first). */
export function builtCli(): string {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  return CLI;
}

/** Runs the built CLI to completion against the database `db`. */
export function runCli(db: string, args: readonly string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [builtCli(), ...args], {
    cwd: ROOT,
    env: { ...process.env, TRACKCONF_DB: db, TRACKCONF_CONFIG: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `trackconf simulate …` as its own process (it runs until killed or done; killed after 20 s). */
export function runSimulate(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCli(), 'simulate', ...args], { cwd: ROOT, env: { ...process.env, TRACKCONF_CONFIG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
