/**
 * Real `serve` processes (the built CLI) on loopback ports: the nodes of one service when they share
 * a database (TRACKCONF_DB, or TRACKCONF_DATABASE_URL and TRACKCONF_REDIS_URL). A node is ready when
 * /health answers 200, i.e. its HTTP and MQTT listeners accept connections (docs/operations.md#health-probes).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Test } from 'tap';
import { builtCli, ROOT } from './cli.js';
import { freePort } from './server.js';

export interface NodeOptions {
  /** TRACKCONF_NODE_ID, and the name in error messages. */
  readonly name: string;
  /** Extra TRACKCONF_* variables (TRACKCONF_DB, TRACKCONF_DATABASE_URL, TRACKCONF_REDIS_URL…); they win over the helper's. */
  readonly env?: Readonly<Record<string, string>>;
  /** startNode: how long to wait for /health to answer 200; runNodeUntilExit: how long it may run before SIGKILL (default 30 s). */
  readonly timeoutMs?: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  readonly httpUrl: string;
  readonly mqttUrl: string;
  readonly httpPort: number;
  readonly mqttPort: number;
  /** Everything written to stdout (JSON log lines) and stderr so far, in arrival order. */
  logs(): string;
  /** Sends `signal` by pid unless the process has exited. */
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL when it has not exited within a deadline; resolves with how it exited. */
  stop(): Promise<Exit>;
}

const STOP_DEADLINE_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 30_000;

interface Spawned {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly output: { all: string; stdout: string; stderr: string };
  readonly exited: Promise<Exit>;
  running(): boolean;
  kill(signal: NodeJS.Signals): void;
  stop(): Promise<Exit>;
}

/** The built CLI's `serve` with loopback listeners on free ports (no WebSocket: port 0 turns it off); stopped at teardown. */
async function spawnNode(t: Test, options: NodeOptions): Promise<Spawned> {
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [builtCli(), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TRACKCONF_CONFIG: '',
      TRACKCONF_HTTP_HOST: '127.0.0.1',
      TRACKCONF_HTTP_PORT: String(httpPort),
      TRACKCONF_MQTT_HOST: '127.0.0.1',
      TRACKCONF_MQTT_PORT: String(mqttPort),
      TRACKCONF_MQTT_WS_PORT: '0',
      TRACKCONF_NODE_ID: options.name,
      TRACKCONF_LOG_LEVEL: 'info',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { all: '', stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
    output.all += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
    output.all += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals) => {
    if (running()) process.kill(child.pid!, signal);
  };
  const stop = async (): Promise<Exit> => {
    kill('SIGTERM');
    const timer = setTimeout(() => kill('SIGKILL'), STOP_DEADLINE_MS);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  };
  t.teardown(stop);
  return { child, httpPort, mqttPort, output, exited, running, kill, stop };
}

/**
 * Starts a node and waits until its /health answers 200. A port found free can be taken by another
 * socket before the node listens on it: then it starts again on other ports.
 */
export async function startNode(t: Test, options: NodeOptions): Promise<NodeProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(t, options);
    } catch (err) {
      if (attempt >= 3 || !/EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(t: Test, options: NodeOptions): Promise<NodeProcess> {
  const node = await spawnNode(t, options);
  const httpUrl = `http://127.0.0.1:${node.httpPort}`;
  const tail = () => node.output.all.trimEnd().split('\n').slice(-20).join('\n');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!node.running()) {
      const { code, signal } = await node.exited;
      throw new Error(`node ${options.name} exited (${code ?? signal}) before it was ready:\n${tail()}`);
    }
    const status = await fetch(`${httpUrl}/health`).then(
      async (response) => (await response.arrayBuffer(), response.status),
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await node.stop();
      throw new Error(`node ${options.name} not ready after ${timeoutMs} ms (/health: ${status || 'no answer'}):\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    name: options.name,
    pid: node.child.pid!,
    httpUrl,
    mqttUrl: `mqtt://127.0.0.1:${node.mqttPort}`,
    httpPort: node.httpPort,
    mqttPort: node.mqttPort,
    logs: () => node.output.all,
    kill: node.kill,
    exited: node.exited,
    stop: node.stop,
  };
}

/** Runs a node that is expected to exit by itself (a start that must fail); SIGKILLed at teardown otherwise. */
export async function runNodeUntilExit(t: Test, options: NodeOptions): Promise<Exit & { stdout: string; stderr: string }> {
  const node = await spawnNode(t, options);
  const timer = setTimeout(() => node.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const exit = await node.exited;
  clearTimeout(timer);
  return { ...exit, stdout: node.output.stdout, stderr: node.output.stderr };
}
