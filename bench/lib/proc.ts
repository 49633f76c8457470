import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { sleep } from './stats.js';

/** CPU time (µs, all threads) and resident memory (KB) of a process, from /proc. */
export interface ProcSample {
  readonly cpuUs: number;
  readonly rssKb: number;
  readonly at: number;
}

const TICK_US = 1_000_000 / Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);

/**
 * CPU: the sum of every thread's `/proc/<pid>/task/<tid>/schedstat` run time (ns resolution), else
 * utime+stime of `/proc/<pid>/stat` (clock ticks). RSS: VmRSS of `/proc/<pid>/status`.
 */
export function sampleProc(pid: number): ProcSample {
  let cpuUs = 0;
  let fromSchedstat = false;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const run = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        if (Number.isFinite(run)) {
          cpuUs += run / 1000;
          fromSchedstat = true;
        }
      } catch {
        // thread gone
      }
    }
  } catch {
    fromSchedstat = false;
  }
  if (!fromSchedstat) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpuUs = (Number(fields[11]) + Number(fields[12])) * TICK_US;
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+)/.exec(status);
  return { cpuUs, rssKb: rss ? Number(rss[1]) : Number.NaN, at: performance.now() };
}

/** CPU time (µs) of the children a process has reaped (cutime + cstime): PostgreSQL's ended backends. */
export function reapedChildrenCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_US;
}

/** Which CPUs a process may run on (`Cpus_allowed_list`). */
export function cpusAllowed(pid: number | 'self'): string {
  try {
    return /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin'])) {
    const file = `${dir}/${cmd}`;
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

export const TASKSET = which('taskset');

/** Every process the bench started and that still runs: killed (by pid) if the bench dies. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Spawns `cmd` pinned to `core` with taskset when available (taskset execs: the pid is the command's). */
export function spawnPinned(core: number | undefined, cmd: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = TASKSET && core !== undefined ? spawn(TASKSET, ['-c', String(core), cmd, ...args], options) : spawn(cmd, args, options);
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 30_000, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`process exited with ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (or signal). */
export function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<number | string> {
  // a process killed by a signal has no exit code, only its signal
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode!);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? 'unknown');
    });
    child.kill('SIGTERM');
  });
}
