/**
 * The operator console with a fleet of N trackers (docs/console.md#performance): from the click on
 * `Sign in` to the trackers table showing rows, and to the `Filter` box narrowing it to one tracker,
 * in Debian's headless Chromium against an in-process service on loopback ports.
 *
 *   npm run build && node dist/bench/console.js [--trackers 10000] [--runs 5]
 *
 * Prints each run and the median; nothing is asserted (timings belong to the machine).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { provision } from '../src/settings/provisioning.js';
import { launchChromium } from './lib/chromium.js';
import { startInProcess } from './lib/in-process.js';
import { TELFM_SETTINGS as SETTINGS } from './lib/settings.js';
import { ascending, percentileOf } from './lib/stats.js';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({ options: { trackers: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' } } });
const TRACKERS = Number(options.trackers);
const RUNS = Number(options.runs);
const LOGIN = 'bench@example.com';
const PASSWORD = 'bench-password-1';
const API_KEY = 'b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0';

const dir = mkdtempSync(join(tmpdir(), 'trackconf-console-bench-'));
const { server, url } = await startInProcess(join(dir, 'bench.db'), { logLevel: 'silent', bodyLimit: 1_048_576, noRateLimit: true });
const context = await launchChromium(join(dir, 'profile'));
const round = (ms: number) => Number(ms.toFixed(0));
const median = (list: number[]) => percentileOf(ascending(list), 50)!;
try {
  const ids = Array.from({ length: TRACKERS }, (_, i) => 5_000_001 + i);
  await provision(server.store, server.profiles, {
    users: [{ login: LOGIN, password: PASSWORD, api_keys: [API_KEY] }],
    groups: [1, 2, 3, 4].map((id) => ({ id, owner: LOGIN, title: `Depot ${id}` })),
    trackers: ids.map((id, i) => ({
      id,
      owner: LOGIN,
      label: `Bench ${id}`,
      model: i % 2 === 0 ? 'telfm' : 'telfm5x',
      group_id: ((i % 5) as number) || undefined,
      device_id: `86000${String(i).padStart(10, '0')}`,
      device_secret: `secret-${i}`,
    })),
  });
  // Half the fleet with a version (pending), so the table shows versions, states and times.
  const bulk = await fetch(`${url}/tracker/settings/tracking/bulk_update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `NVX ${API_KEY}` },
    body: JSON.stringify({ model: 'telfm', tracking_settings: SETTINGS }),
  }).then((r) => r.json() as Promise<{ summary: { updated: number } }>);
  const target = `Bench ${ids[Math.floor(TRACKERS * 0.73)]}`;
  const rows: number[] = [];
  const filtered: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const page = await context.newPage();
    await page.goto(`${url}/console/`);
    await page.getByLabel('Login').fill(LOGIN);
    await page.getByLabel('Password').fill(PASSWORD);
    const started = performance.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('table').getByRole('link').first().waitFor({ timeout: 60_000 });
    rows.push(performance.now() - started);
    await page.getByLabel('Filter').fill(target);
    await page.getByRole('table').getByRole('link', { name: target, exact: true }).waitFor({ timeout: 60_000 });
    if ((await page.getByRole('table').getByRole('row').count()) !== 2) throw new Error('the filter did not narrow the table to one tracker');
    filtered.push(performance.now() - started);
    await page.close();
  }
  // What the console's live channel costs per second: one sync_summary with `all`.
  const poll: number[] = [];
  let pollBytes = 0;
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    const text = await fetch(`${url}/tracker/settings/tracking/sync_summary`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `NVX ${API_KEY}` },
      body: JSON.stringify({ all: true }),
    }).then((r) => r.text());
    poll.push(performance.now() - started);
    pollBytes = text.length;
  }
  console.log(
    JSON.stringify(
      {
        trackers: TRACKERS,
        with_version: bulk.summary.updated,
        sign_in_to_rows_ms: rows.map(round),
        sign_in_to_filtered_ms: filtered.map(round),
        median_ms: { rows: round(median(rows)), filtered: round(median(filtered)) },
        sync_summary_all: { median_ms: Number(median(poll).toFixed(1)), bytes: pollBytes },
      },
      null,
      2,
    ),
  );
} finally {
  await context.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
