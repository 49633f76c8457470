import { writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { sleep } from './stats.js';

/**
 * A per-phase CPU profiler for the service: the service runs with `--inspect=127.0.0.1:<port>` and
 * the bench starts and stops V8's sampling profiler over the DevTools protocol around each phase,
 * so that each phase gets its own .cpuprofile (summarise with dist/bench/profile-summary.js).
 */
export class PhaseProfiler {
  private id = 0;
  private readonly pending = new Map<number, (result: unknown) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
      if (message.id !== undefined) {
        this.pending.get(message.id)?.(message.result);
        this.pending.delete(message.id);
      }
    });
  }

  static async connect(port: number): Promise<PhaseProfiler> {
    let url: string | undefined;
    for (let i = 0; i < 50 && !url; i++) {
      try {
        const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
        url = list[0]?.webSocketDebuggerUrl;
      } catch {
        await sleep(100);
      }
    }
    if (!url) throw new Error('inspector not reachable');
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const profiler = new PhaseProfiler(ws);
    await profiler.call('Profiler.enable');
    await profiler.call('Profiler.setSamplingInterval', { interval: 500 });
    return profiler;
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = ++this.id;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  start(): Promise<unknown> {
    return this.call('Profiler.start');
  }

  async stop(file: string): Promise<void> {
    const result = (await this.call('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(result.profile));
  }

  /** Full GC in the service, then its process.memoryUsage() (bytes). */
  async memory(): Promise<{ rss: number; heapUsed: number; external: number; arrayBuffers: number }> {
    await this.call('HeapProfiler.collectGarbage');
    const result = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    return JSON.parse(result.result.value) as { rss: number; heapUsed: number; external: number; arrayBuffers: number };
  }

  close(): void {
    this.ws.close();
  }
}
