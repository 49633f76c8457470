import { parseArgs } from 'node:util';
/**
 * Fleet operations at fleet scale (docs/benchmarks.md#fleet-operations): bulk_update of N trackers
 * (real and dry run, by tracker_ids and by model) and the first page of history of a device with M
 * versions, against an in-process service on loopback ports (HTTP over a real socket).
 *
 *   npm run build && node dist/bench/fleet-ops.js [--trackers 10000] [--versions 10000] [--runs 3]
 *
 * Prints the wall time of each call as the client sees it (request sent → answer parsed). Nothing is
 * asserted: timings belong to the machine (and to whatever else runs on it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { principalOf } from '../src/settings/auth-service.js';
import { provision } from '../src/settings/provisioning.js';
import { TrackerService } from '../src/settings/tracker-service.js';
import { NO_PUBLISHER } from '../src/settings/types.js';
import { startInProcess } from './lib/in-process.js';
import { TELFM_SETTINGS as SETTINGS } from './lib/settings.js';
import { ascending, percentileOf } from './lib/stats.js';

const { values: options } = parseArgs({
  options: { trackers: { type: 'string', default: '10000' }, versions: { type: 'string', default: '10000' }, runs: { type: 'string', default: '3' } },
});
const TRACKERS = Number(options.trackers);
const VERSIONS = Number(options.versions);
const RUNS = Number(options.runs);
const API_KEY = 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0';
const LOGIN = 'bench@example.com';

const dir = mkdtempSync(join(tmpdir(), 'trackconf-fleet-bench-'));
const { server, url } = await startInProcess(join(dir, 'bench.db'), { logLevel: 'silent', bodyLimit: 1_048_576, noRateLimit: true });

async function call(path: string, params: Record<string, unknown>): Promise<{ ms: number; body: Record<string, any> }> {
  const started = performance.now();
  const response = await fetch(`${url}/tracker/settings/tracking/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hash: API_KEY, ...params }),
  });
  const body = (await response.json()) as Record<string, any>;
  const ms = performance.now() - started;
  if (body.success !== true) throw new Error(`${path}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms, body };
}

const round = (ms: number) => Number(ms.toFixed(2));
const results: Record<string, unknown> = {};
try {
  let t0 = performance.now();
  const ids = Array.from({ length: TRACKERS }, (_, i) => 5_000_001 + i);
  await provision(server.store, server.profiles, {
    users: [{ login: LOGIN, password: 'bench-password-1', api_keys: [API_KEY] }],
    trackers: ids.map((id, i) => ({
      id,
      owner: LOGIN,
      label: `Bench ${id}`,
      model: 'telfm',
      device_id: `86000${String(i).padStart(10, '0')}`,
      device_secret: `secret-${i}`,
    })),
  });
  results.provision_seconds = round((performance.now() - t0) / 1000);

  const bulk: Record<string, number[]> = {};
  const time = async (name: string, params: Record<string, unknown>) => {
    const ms = (await call('bulk_update', params)).ms;
    (bulk[name] ??= []).push(round(ms));
  };
  for (let run = 0; run < RUNS; run++) {
    const interval = 60 + run;
    await time('tracker_ids, dry run', { tracker_ids: ids, tracking_settings: { ...SETTINGS, tracking_interval: interval }, dry_run: true });
    await time('tracker_ids', { tracker_ids: ids, tracking_settings: { ...SETTINGS, tracking_interval: interval } });
    await time('model, dry run', { model: 'telfm', tracking_settings: { tracking_angle: 40 + run }, dry_run: true });
    await time('model', { model: 'telfm', tracking_settings: { tracking_angle: 40 + run } });
  }
  const check = await call('bulk_update', { model: 'telfm', tracking_settings: {}, dry_run: true });
  if (check.body.summary.updated !== TRACKERS) throw new Error(`bulk touched ${check.body.summary.updated} trackers`);
  results.bulk_update_ms = bulk;
  results.bulk_body_bytes = JSON.stringify({ hash: API_KEY, tracker_ids: ids, tracking_settings: SETTINGS }).length;

  // History: one device with VERSIONS versions, made through the service (one commit each).
  t0 = performance.now();
  const service = new TrackerService(server.store, server.profiles, NO_PUBLISHER);
  const principal = principalOf(server.store.users.findByLogin(LOGIN)!, null);
  const deviceTracker = ids[0]!;
  const have = (await call('history', { tracker_id: deviceTracker, limit: 1 })).body.list[0].version as number;
  for (let v = have; v < VERSIONS; v++) service.updateSettings(principal, deviceTracker, { tracking_interval: 30 + (v % 200) });
  results.history_setup_seconds = round((performance.now() - t0) / 1000);
  const samples: number[] = [];
  for (let i = 0; i < 200; i++) samples.push((await call('history', { tracker_id: deviceTracker })).ms);
  const inProcess: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = performance.now();
    service.fleet.history(principal, deviceTracker, 50, undefined);
    inProcess.push(performance.now() - s);
  }
  const pct = (list: number[], p: number) => round(percentileOf(ascending(list), p)!);
  const first = (await call('history', { tracker_id: deviceTracker })).body;
  results.history_first_page = {
    versions: first.list[0].version,
    entries: first.list.length,
    http_ms: { p50: pct(samples, 50), p99: pct(samples, 99), max: pct(samples, 100) },
    in_process_ms: { p50: pct(inProcess, 50), p99: pct(inProcess, 99) },
  };
  const last = (await call('history', { tracker_id: deviceTracker, limit: 50, before_version: 51 })).body;
  results.history_last_page_entries = last.list.length;
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ trackers: TRACKERS, versions: VERSIONS, runs: RUNS, ...results }, null, 2));
