import { parseArgs } from 'node:util';
/**
 * What one `GET /metrics` costs with a fleet of 10,000 trackers (docs/operations.md#metrics).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/metrics-scrape.js [--trackers N] [--scrapes N] [--dir PATH]
 *
 * Starts the service on loopback ports with a fresh database, imports N trackers (through the
 * provisioning service), gives each a settings version in a mix of sync states, then scrapes over
 * HTTP. Prints the scrape's wall time (median, p95, max), the registry's own time alone and the
 * grouped COUNT query's.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { provision } from '../src/settings/provisioning.js';
import { plainTrackers, startInProcess } from './lib/in-process.js';
import { ascending, percentileOf } from './lib/stats.js';

const { values: options } = parseArgs({
  options: {
    trackers: { type: 'string', default: '10000' },
    scrapes: { type: 'string', default: '200' },
    dir: { type: 'string', default: join('data', 'bench') },
  },
});
const TRACKERS = Number(options.trackers);
const SCRAPES = Number(options.scrapes);
const dir = resolve(options.dir);

function summary(samples: number[]): string {
  const sorted = ascending(samples);
  const at = (p: number) => percentileOf(sorted, p)!.toFixed(2);
  return `median ${at(50)} ms, p95 ${at(95)} ms, max ${sorted.at(-1)!.toFixed(2)} ms`;
}

async function main(): Promise<void> {
  const db = join(dir, 'metrics-scrape.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  const { server, url: base } = await startInProcess(db, { logLevel: 'warn' });
  const login = 'scrape@example.com';
  await provision(server.store, server.profiles, { users: [{ login, password: 'scrape-password-1' }], trackers: plainTrackers(login, TRACKERS) });
  // A version for every device, in a mix of states (written directly: the figure is about reading them).
  const states = ['pending', 'delivered', 'applied', 'rejected'];
  const now = new Date().toISOString();
  server.store.transaction(() => {
    const insert = server.store.db.prepare(`INSERT INTO device_sync (device, version, settings, state, changed_at) VALUES (?, 1, '{}', ?, ?)`);
    const devices = server.store.db.prepare<[], { id: number }>('SELECT id FROM devices').all();
    for (const [i, { id }] of devices.entries()) insert.run(id, states[i % states.length], now);
  });
  const url = `${base}/metrics`;
  for (let i = 0; i < 20; i++) await (await fetch(url)).text(); // warm up
  const http: number[] = [];
  const registry: number[] = [];
  const query: number[] = [];
  const grouped = server.store.db.prepare(
    `SELECT coalesce(s.state, 'none') AS state, count(*) AS count FROM devices d LEFT JOIN device_sync s ON s.device = d.id GROUP BY 1`,
  );
  let text = '';
  for (let i = 0; i < SCRAPES; i++) {
    let start = performance.now();
    text = await (await fetch(url)).text();
    http.push(performance.now() - start);
    start = performance.now();
    await server.metrics.text();
    registry.push(performance.now() - start);
    start = performance.now();
    grouped.all();
    query.push(performance.now() - start);
  }
  const trackers = text.split('\n').filter((line) => line.startsWith('trackconf_trackers{'));
  process.stdout.write(`${TRACKERS} trackers, ${SCRAPES} scrapes, ${text.length} bytes each\n`);
  process.stdout.write(`${trackers.join('\n')}\n`);
  process.stdout.write(`GET /metrics over HTTP: ${summary(http)}\n`);
  process.stdout.write(`registry.metrics() alone: ${summary(registry)}\n`);
  process.stdout.write(`of which the trackers-by-state query (as src/server.ts runs it): ${summary(query)}\n`);
  await server.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exitCode = 1;
});
