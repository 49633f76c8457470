import { parseArgs } from 'node:util';
/**
 * What a flood of bad `user/auth` calls costs another user's `read` and `update` (docs/reliability.md,
 * "Hostile clients").
 *
 *   npm run build && node dist/bench/login-flood.js [--flood 300] [--calls 200] [--mode waves|loop] [--config FILE]
 *
 * Starts the built service (`dist/`) on loopback with a fresh database seeded by `trackconf demo`
 * (and TRACKCONF_CONFIG=FILE if given), measures --calls sequential `read` + `update` pairs of the
 * demo user (API key) alone, then again under a flood of bad logins (every one a different unknown
 * login: each costs a password check, none is throttled):
 * - `waves` (default): --flood concurrent calls, and when all are answered the next --flood;
 * - `loop`: --flood clients each sending the next call as soon as the last is answered (once the
 *   service answers refusals at once, that is a flood of HTTP requests more than of password checks).
 * Prints p50 / p99 / max of both phases and how the flood's logins were answered. Nothing is
 * asserted: timings belong to the machine.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './lib/proc.js';
import { Samples, nowUs, sleep } from './lib/stats.js';
import { DEMO_UPDATE, DEMO_USER } from '../src/cli/demo-data.js';

const { values: options } = parseArgs({
  options: {
    flood: { type: 'string', default: '300' },
    calls: { type: 'string', default: '200' },
    mode: { type: 'string', default: 'waves' },
    config: { type: 'string', default: '' },
  },
});
const flood = Number(options.flood);
const calls = Number(options.calls);
const mode = options.mode;
const configFile = options.config;
const main = resolve('dist/src/cli/main.js');

async function call(url: string, path: string, body: unknown): Promise<{ status: number; code: number | undefined }> {
  const response = await fetch(`${url}/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { status?: { code: number } };
  return { status: response.status, code: json.status?.code };
}

/** --calls read + update pairs, one at a time; latencies in µs. */
async function measure(url: string): Promise<{ read: Samples; update: Samples; errors: number }> {
  const read = new Samples();
  const update = new Samples();
  let errors = 0;
  for (let i = 0; i < calls; i++) {
    let t0 = nowUs();
    const r = await call(url, 'tracker/settings/tracking/read', { hash: DEMO_USER.apiKey, tracker_id: DEMO_UPDATE.trackerId });
    read.add(nowUs() - t0);
    t0 = nowUs();
    const u = await call(url, 'tracker/settings/tracking/update', {
      hash: DEMO_USER.apiKey,
      tracker_id: DEMO_UPDATE.trackerId,
      tracking_settings: { ...DEMO_UPDATE.trackingSettings, tracking_distance: 100 + (i % 500) },
    });
    update.add(nowUs() - t0);
    if (r.status !== 200 || u.status !== 200) errors++;
  }
  return { read, update, errors };
}

const dir = mkdtempSync(join(tmpdir(), 'trackconf-login-flood-'));
const env = {
  ...process.env,
  TRACKCONF_DB: join(dir, 'bench.db'),
  TRACKCONF_HTTP_HOST: '127.0.0.1',
  TRACKCONF_HTTP_PORT: String(await freePort()),
  TRACKCONF_MQTT_HOST: '127.0.0.1',
  TRACKCONF_MQTT_PORT: String(await freePort()),
  TRACKCONF_MQTT_WS_PORT: '0',
  TRACKCONF_RATE_LIMIT: '0',
  TRACKCONF_LOG_LEVEL: 'error',
  ...(configFile && { TRACKCONF_CONFIG: resolve(configFile) }),
};
const url = `http://127.0.0.1:${env.TRACKCONF_HTTP_PORT}`;
const seeded = spawnSync(process.execPath, [main, 'demo'], { env, encoding: 'utf8' });
if (seeded.status !== 0) throw new Error(`demo failed: ${seeded.stderr}`);
const service = spawn(process.execPath, [main, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
process.on('exit', () => {
  service.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/health`)).ok) break;
  } catch {
    // not listening yet
  }
  if (i > 200) throw new Error('the service did not start');
  await sleep(50);
}

const quiet = await measure(url);

let flooding = true;
const answers = new Map<string, number>();
let n = 0;
const badLogin = async () => {
  try {
    const { code } = await call(url, 'user/auth', { login: `nobody-${n++}@example.com`, password: 'wrong' });
    answers.set(String(code), (answers.get(String(code)) ?? 0) + 1);
  } catch {
    answers.set('connection error', (answers.get('connection error') ?? 0) + 1);
  }
};
const floodClients =
  mode === 'loop'
    ? Array.from({ length: flood }, async () => {
        while (flooding) await badLogin();
      })
    : [
        (async () => {
          while (flooding) await Promise.all(Array.from({ length: flood }, badLogin));
        })(),
      ];
await sleep(500); // the flood is under way
const loaded = await measure(url);
flooding = false;
await Promise.all(floodClients);
service.kill('SIGTERM');

const ms = (us: number) => (us / 1000).toFixed(1);
const row = (phase: string, what: string, s: Samples) =>
  `| ${phase} | ${what} | ${s.count} | ${ms(s.percentile(50))} | ${ms(s.percentile(99))} | ${ms(s.percentile(100))} |`;
console.log(`| phase | call | n | p50 ms | p99 ms | max ms |`);
console.log(`|---|---|---|---|---|---|`);
console.log(row('alone', 'read', quiet.read));
console.log(row('alone', 'update', quiet.update));
console.log(row(`${flood} bad logins (${mode})`, 'read', loaded.read));
console.log(row(`${flood} bad logins (${mode})`, 'update', loaded.update));
console.log(`errors: alone ${quiet.errors}, under the flood ${loaded.errors}`);
console.log(`flood answers (code: count): ${JSON.stringify(Object.fromEntries(answers))}`);
