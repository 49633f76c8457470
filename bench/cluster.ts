/**
 * `npm run bench -- --cluster [--quick] [--trackers N] [--phase-seconds S]` (docs/benchmarks.md#several-nodes)
 *
 * Two `trackconf serve` nodes of one service (the built CLI) on PostgreSQL, with its default
 * durability settings, and Redis, all on loopback, driven from this process. Nothing is pinned: the
 * five processes share the machine's cores. Measures reads and updates with both nodes serving,
 * the delivery latency of an update made through one node to a tracker connected to the other, and
 * the failover of a node's trackers to the other when it is killed. Writes
 * bench/results/cluster-<ISO date>.json and prints a table of every figure and target.
 */
import { copyFileSync, existsSync, readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Fleet } from './lib/fleet.js';
import { closedLoop, encodeRequest, pacedLoop, type HttpResponse, type LoadResult } from './lib/http-load.js';
import { freePort, reapedChildrenCpuUs, sampleProc } from './lib/proc.js';
import { type PostgresServer, type RedisServer, startPostgresServer, startRedisServer } from './lib/servers.js';
import { Samples, ms, nowUs, sleep } from './lib/stats.js';
import { NO_RATE_LIMITS, ROOT, benchFleet, importFleet, serveNode, serviceEnv } from './lib/targets.js';
import { DeliveryTracker, acceptedVersion, fullSettings, readRequests, updateBytes, updateRequest } from './lib/updates.js';

interface Options {
  quick: boolean;
  trackers: number;
  phaseSeconds: number;
  pacedRate: number;
  connections: number;
  failoverWindow: number;
  failoverDeadlineSeconds: number;
}

/** Targets of docs/scaling.md: cross-node delivery at the paced rate, and the failover time. */
const DELIVERY_P99_TARGET_US = 50_000;
const FAILOVER_TARGET_S = 10;

function parseOptions(argv: readonly string[]): Options {
  const number = { type: 'string' } as const;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean' },
      trackers: number,
      'phase-seconds': number,
      'paced-rate': number,
      'failover-window': number,
    },
  });
  const value = (name: 'trackers' | 'phase-seconds' | 'paced-rate' | 'failover-window'): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number`);
    return n;
  };
  const quick = values.quick === true;
  return {
    quick,
    trackers: Math.round(value('trackers') ?? (quick ? 1_000 : 5_000)),
    phaseSeconds: value('phase-seconds') ?? (quick ? 4 : 20),
    pacedRate: value('paced-rate') ?? 1_000,
    connections: 50,
    failoverWindow: value('failover-window') ?? 100,
    failoverDeadlineSeconds: quick ? 30 : 60,
  };
}

const started = Date.now();
function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${message}\n`);
}

function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A process, its live children and the ones it reaped (PostgreSQL's backends), read from /proc. */
function treeCpuUs(pid: number): number {
  let total = 0;
  try {
    total += reapedChildrenCpuUs(pid);
  } catch {
    // exited
  }
  const pids = [pid];
  try {
    pids.push(...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    // no children file: the process alone
  }
  for (const p of pids) {
    try {
      total += sampleProc(p).cpuUs;
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

/** CPU (% of one core) of each named process over a phase, and of this load process. */
class Phase {
  private readonly before: Record<string, number>;
  private readonly loadBefore = process.cpuUsage();
  private readonly t0 = nowUs();

  constructor(private readonly pids: Readonly<Record<string, number>>) {
    this.before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, treeCpuUs(pid)]));
  }

  end(): Record<string, number> {
    const wall = nowUs() - this.t0;
    const load = process.cpuUsage(this.loadBefore);
    const pct = Object.fromEntries(
      Object.entries(this.pids).map(([name, pid]) => [`${name}_cpu_pct`, round((100 * (treeCpuUs(pid) - this.before[name]!)) / wall, 1)]),
    );
    return { wall_s: round(wall / 1e6, 2), ...pct, load_cpu_pct: round((100 * (load.user + load.system)) / wall, 1) };
  }
}

interface Node {
  readonly name: string;
  readonly pid: number;
  readonly httpPort: number;
  readonly mqttPort: number;
  readonly hash: string;
  stop(): Promise<number | string>;
}

/** Each node's closed loop at once (the connections split between them); their sum is the service's figure. */
async function bothNodes(
  nodes: readonly Node[],
  connections: number,
  durationMs: number,
  next: (node: Node) => () => { bytes: Buffer; tag?: unknown },
  onResponse?: (res: HttpResponse, sentUs: number, tag: unknown) => boolean,
): Promise<{ total_req_per_s: number; per_node: Record<string, LoadResult> }> {
  const runs = await Promise.all(
    nodes.map((node) =>
      closedLoop({ port: node.httpPort, connections: Math.ceil(connections / nodes.length), durationMs, next: next(node), ...(onResponse && { onResponse }) }),
    ),
  );
  return {
    total_req_per_s: round(runs.reduce((sum, r) => sum + r.req_per_s, 0)),
    per_node: Object.fromEntries(nodes.map((node, i) => [node.name, runs[i]!])),
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const options = parseOptions(argv);
  const loadAtStart = loadavg().map((v) => round(v, 2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'trackconf-bench-cluster-'));
  // PostgreSQL runs as `nobody` when this is root: its folder is its own, not inside the 0700 `dir`
  const pgDir = mkdtempSync(join(tmpdir(), 'trackconf-bench-pg-'));
  const cleanups: Array<() => unknown> = [() => rmSync(dir, { recursive: true, force: true }), () => rmSync(pgDir, { recursive: true, force: true })];
  let cleaning: Promise<void> | undefined;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      for (const step of cleanups.reverse()) {
        try {
          await step();
        } catch (err) {
          log(`cleanup: ${(err as Error).message}`);
        }
      }
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping the nodes, PostgreSQL and Redis`);
    void cleanUp().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await run(options, dir, pgDir, stamp, loadAtStart, (step) => cleanups.push(step));
  } catch (err) {
    keepLogs(dir, stamp);
    throw err;
  } finally {
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function run(
  options: Options,
  dir: string,
  pgDir: string,
  stamp: string,
  loadAtStart: number[],
  onCleanup: (step: () => unknown) => void,
): Promise<number> {
  const trackers = benchFleet(options.trackers);
  const results: Record<string, unknown> = {};
  log(
    `cluster: 2 nodes + PostgreSQL + Redis on ${cpus().length} cores (nothing pinned), trackers=${options.trackers} phase=${options.phaseSeconds}s; work dir ${dir}`,
  );

  const redisDir = join(dir, 'redis');
  mkdirSync(redisDir);
  const redis: RedisServer = await startRedisServer(redisDir);
  onCleanup(() => redis.stop());
  const postgres: PostgresServer = await startPostgresServer(pgDir, {});
  onCleanup(() => postgres.stop());
  log(`PostgreSQL (pid ${postgres.pid}, default settings: fsync on) on ${postgres.port}, Redis (pid ${redis.pid}) on ${redis.port}`);

  const envOf = (name: string, httpPort: number, mqttPort: number): NodeJS.ProcessEnv => ({
    ...serviceEnv(join(dir, 'unused.db'), httpPort, mqttPort),
    ...NO_RATE_LIMITS,
    TRACKCONF_DATABASE_URL: postgres.url,
    TRACKCONF_REDIS_URL: redis.url,
    TRACKCONF_NODE_ID: name,
  });
  const importSeconds = importFleet(dir, trackers, envOf('import', 0, 0));
  log(`imported ${trackers.length} trackers into PostgreSQL in ${importSeconds.toFixed(1)} s`);

  const startNode = async (name: string): Promise<Node> => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const node = await serveNode({ env: envOf(name, httpPort, mqttPort), httpPort, mqttPort, core: undefined, cwd: dir, logFile: join(dir, `${name}.log`) });
    onCleanup(() => node.stop());
    log(`node ${name} serving (pid ${node.pid}): HTTP ${httpPort}, MQTT ${mqttPort}`);
    return { name, ...node };
  };
  const a = await startNode('a');
  const b = await startNode('b');
  const nodes = [a, b];
  const pids = { node_a: a.pid, node_b: b.pid, postgres: postgres.pid, redis: redis.pid };

  // trackers 0, 2, 4… on node a, 1, 3, 5… on node b; one delivery record for the whole fleet
  const deliveries = new DeliveryTracker(trackers.length);
  const half = (parity: 0 | 1) => trackers.filter((_, i) => i % 2 === parity);
  const fleetOn = (node: Node, parity: 0 | 1) =>
    new Fleet(half(parity), { port: node.mqttPort, onConfig: (c) => deliveries.onConfig(c.index * 2 + parity, c.version, c.atUs) });
  const fleetA = fleetOn(a, 0);
  const fleetB = fleetOn(b, 1);
  log(`connect: ${fleetA.size} trackers to node a, ${fleetB.size} to node b`);
  const connects = await Promise.all([fleetA.connectAll(100), fleetB.connectAll(100)]);
  results.connect = { node_a: connects[0], node_b: connects[1] };
  if (connects.some((c) => c.failed > 0)) throw new Error(`connect failed: ${connects.map((c) => c.failed).join(' + ')} trackers`);

  const onUpdate = (res: HttpResponse, sentUs: number, tag: unknown) => {
    const version = acceptedVersion(res);
    if (version === undefined) return false;
    deliveries.onAccepted(tag as number, version, sentUs);
    return true;
  };

  // every tracker gets a first config, half of them through each node
  log(`seeding a config for each of the ${trackers.length} trackers through both nodes`);
  let seedNext = 0;
  const seedStart = nowUs();
  await Promise.all(
    nodes.map((node) =>
      closedLoop({
        port: node.httpPort,
        connections: options.connections / 2,
        durationMs: 300_000,
        next: () => {
          const index = seedNext++;
          return { bytes: updateBytes(node.httpPort, node.hash, trackers[index]!.trackerId, index), tag: index };
        },
        onResponse: onUpdate,
        stopWhen: () => seedNext >= trackers.length,
      }),
    ),
  );
  await deliveries.requireSeeded(trackers.length, 30_000);
  log(`seeded in ${((nowUs() - seedStart) / 1e6).toFixed(1)} s: ${deliveries.accepted} configs accepted and delivered`);

  // 1a. reads on both nodes at once
  const readBodies = (node: Node) => readRequests(node.httpPort, node.hash, trackers);
  const nextRead = (node: Node) => {
    const bodies = readBodies(node);
    return () => ({ bytes: bodies[Math.floor(Math.random() * bodies.length)]! });
  };
  log('read: warm-up on both nodes');
  await bothNodes(nodes, options.connections, 2000, nextRead);
  log(`read: ${options.connections} connections (half per node) for ${options.phaseSeconds} s`);
  let phase = new Phase(pids);
  const read = await bothNodes(nodes, options.connections, options.phaseSeconds * 1000, nextRead);
  results.read = { ...read, process: phase.end() };
  const readFailures = (r: typeof read) => Object.values(r.per_node).reduce((n, x) => n + x.non2xx + x.errors, 0);
  log(
    `read: ${read.total_req_per_s} req/s (a ${read.per_node.a!.req_per_s.toFixed(0)}, b ${read.per_node.b!.req_per_s.toFixed(0)}), ` +
      `p99 a ${ms(read.per_node.a!.latency.p99_us)} b ${ms(read.per_node.b!.latency.p99_us)}, failures ${readFailures(read)}`,
  );

  // 1b. updates on both nodes at once, to trackers on either node
  const nextUpdate = (node: Node) => updateRequest(node.httpPort, node.hash, trackers);
  log('update: warm-up on both nodes');
  await bothNodes(nodes, options.connections, 2000, nextUpdate, onUpdate);
  await deliveries.drain(15_000);
  log(`update: closed loop, ${options.connections} connections (half per node) for ${options.phaseSeconds} s`);
  const deliveredBefore = deliveries.delivered;
  deliveries.samples = new Samples();
  phase = new Phase(pids);
  const update = await bothNodes(nodes, options.connections, options.phaseSeconds * 1000, nextUpdate, onUpdate);
  const updateProc = phase.end();
  const updateUndelivered = await deliveries.drain(15_000);
  const updateOk = Object.values(update.per_node).reduce((n, r) => n + r.ok, 0);
  const updateFailed = Object.values(update.per_node).reduce((n, r) => n + r.non2xx + r.errors, 0);
  const updateSeconds = Math.max(...Object.values(update.per_node).map((r) => r.elapsed_s));
  const deliveredPerS = round((updateOk - updateUndelivered) / updateSeconds, 1);
  results.update = {
    ...update,
    process: updateProc,
    delivered: deliveries.delivered - deliveredBefore,
    undelivered_after_drain: updateUndelivered,
    failed_answers: updateFailed,
    delivered_per_s: deliveredPerS,
    delivery_latency: deliveries.samples.summary(),
  };
  log(
    `update: ${deliveredPerS} delivered updates/s (a ${update.per_node.a!.req_per_s.toFixed(0)}, b ${update.per_node.b!.req_per_s.toFixed(0)} req/s), ` +
      `HTTP p99 a ${ms(update.per_node.a!.latency.p99_us)} b ${ms(update.per_node.b!.latency.p99_us)}, failed answers ${updateFailed}, undelivered ${updateUndelivered}`,
  );

  // 2. cross-node delivery: updates through node a, trackers connected to node b
  const onB = trackers.filter((_, i) => i % 2 === 1);
  let crossN = 0;
  const nextCross = () => {
    const local = Math.floor(Math.random() * onB.length);
    crossN++;
    const body = JSON.stringify({ hash: a.hash, tracker_id: onB[local]!.trackerId, tracking_settings: fullSettings(crossN) });
    return { bytes: encodeRequest(a.httpPort, { method: 'POST', path: '/tracker/settings/tracking/update', body }), tag: local * 2 + 1 };
  };
  log(`cross-node delivery: updates through node a to trackers on node b, paced at ${options.pacedRate}/s for ${options.phaseSeconds} s`);
  deliveries.samples = new Samples();
  phase = new Phase(pids);
  const paced = await pacedLoop({
    port: a.httpPort,
    connections: 100,
    rate: options.pacedRate,
    durationMs: options.phaseSeconds * 1000,
    next: nextCross,
    onResponse: onUpdate,
    // a node far slower than the rate would otherwise keep this phase going for minutes
    stopAfterMs: options.phaseSeconds * 1000 + 5_000,
  });
  const pacedProc = phase.end();
  const pacedUndelivered = await deliveries.drain(15_000);
  const cross = deliveries.samples.summary();
  deliveries.samples = undefined;
  results.cross_node_delivery = { ...paced, process: pacedProc, undelivered_after_drain: pacedUndelivered, delivery_latency: cross };
  log(
    `  achieved ${paced.req_per_s.toFixed(0)}/s (${paced.unsent} not sent in time), delivery p50 ${ms(cross.p50_us)} p99 ${ms(cross.p99_us)}, ` +
      `HTTP p99 ${ms(paced.latency.p99_us)}, failed answers ${paced.non2xx + paced.errors}, undelivered ${pacedUndelivered}`,
  );

  // 3. failover: every tracker on node a, node a killed, they reconnect to node b
  fleetA.dropAll();
  fleetB.dropAll();
  deliveries.resetOrphans();
  await sleep(500);
  const latest = (i: number) => deliveries.latest[i]!;
  const readyAt = new Float64Array(trackers.length);
  let failing = false;
  const fleet: Fleet = new Fleet(trackers, {
    port: a.mqttPort,
    onConfig: (c) => {
      deliveries.onConfig(c.index, c.version, c.atUs);
      const t = fleet.trackers[c.index]!;
      if (failing && readyAt[c.index] === 0 && t.port === b.mqttPort && c.version >= latest(c.index)) readyAt[c.index] = c.atUs;
    },
  });
  log(`failover: ${trackers.length} trackers connect to node a and get their latest config`);
  const onA = await fleet.connectAll(100, latest);
  if (onA.failed > 0) throw new Error(`failover: ${onA.failed} trackers could not connect to node a`);
  fleet.failoverTo(b.mqttPort, options.failoverWindow);

  // updates through node b meanwhile: a tenth of the fleet gets a version it does not hold yet
  const updated = trackers.map((_, i) => i).filter((i) => i % 10 === 3);
  let burstNext = 0;
  let burstAnswered = 0;
  let burstAccepted = 0;
  const onBurst = (res: HttpResponse, sentUs: number, tag: unknown) => {
    const index = tag as number;
    burstAnswered++;
    const version = acceptedVersion(res);
    if (version === undefined) return false;
    burstAccepted++;
    deliveries.onAccepted(index, version, sentUs);
    const t = fleet.trackers[index]!;
    if (!(t.port === b.mqttPort && t.sessionVersion >= version)) readyAt[index] = 0;
    return true;
  };
  log(
    `failover: SIGKILL node a (pid ${a.pid}) while ${updated.length} updates go through node b; trackers reconnect to node b (${options.failoverWindow} handshakes in flight)`,
  );
  failing = true;
  const burst = closedLoop({
    port: b.httpPort,
    connections: 10,
    durationMs: 120_000,
    next: () => {
      const index = updated[burstNext++]!;
      const body = JSON.stringify({ hash: b.hash, tracker_id: trackers[index]!.trackerId, tracking_settings: fullSettings(index + 7) });
      return { bytes: encodeRequest(b.httpPort, { method: 'POST', path: '/tracker/settings/tracking/update', body }), tag: index };
    },
    onResponse: onBurst,
    stopWhen: () => burstNext >= updated.length,
  });
  await sleep(20); // the first updates are in flight when the node dies
  const killedUs = nowUs();
  process.kill(a.pid, 'SIGKILL');
  phase = new Phase({ node_b: b.pid, postgres: postgres.pid, redis: redis.pid });
  await burst;
  // every answer of the burst, the first ones (sent before closedLoop's measuring starts) included
  const burstResult = { updates: updated.length, accepted: burstAccepted, failed: updated.length - burstAccepted, answered: burstAnswered };
  const burstDoneS = (nowUs() - killedUs) / 1e6;
  const deadline = Date.now() + options.failoverDeadlineSeconds * 1000;
  const held = (i: number) => {
    const t = fleet.trackers[i]!;
    return t.connected && t.port === b.mqttPort && t.sessionVersion >= latest(i) && readyAt[i]! > 0;
  };
  let pending = trackers.length;
  while (Date.now() < deadline) {
    pending = trackers.reduce((n, _, i) => n + (held(i) ? 0 : 1), 0);
    if (pending === 0) break;
    await sleep(10);
  }
  const failoverProc = phase.end();
  const lost = trackers.map((_, i) => i).filter((i) => !held(i));
  const failoverS = lost.length === 0 ? (Math.max(...readyAt) - killedUs) / 1e6 : Number.NaN;
  const perTracker = new Samples();
  for (const at of readyAt) if (at > 0) perTracker.add(at - killedUs);
  results.failover = {
    trackers: trackers.length,
    on_node_a: onA,
    updates_through_b: { ...burstResult, done_after_kill_s: round(burstDoneS, 2) },
    seconds: Number.isNaN(failoverS) ? null : round(failoverS, 2),
    kill_to_latest_per_tracker: perTracker.summary(),
    connected_to_b: fleet.connectedTo(b.mqttPort),
    lost: lost.length,
    lost_sample: lost.slice(0, 20).map((i) => ({ index: i, holds: fleet.trackers[i]!.version, latest: latest(i), connected: fleet.trackers[i]!.connected })),
    unexpected_closes: fleet.unexpectedCloses,
    process: failoverProc,
  };
  log(
    `failover: ${fleet.connectedTo(b.mqttPort)}/${trackers.length} on node b, ` +
      (lost.length === 0 ? `all at their latest version ${failoverS.toFixed(2)} s after the kill` : `${lost.length} never got their latest version`) +
      ` (updates through b: ${burstResult.accepted} accepted, ${burstResult.failed} failed, done ${burstDoneS.toFixed(2)} s after the kill)`,
  );
  fleet.dropAll();

  // ---- report
  const rows = evaluate(results, options);
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench -- --cluster${
      process.argv.length > 2
        ? ` ${process.argv
            .slice(2)
            .filter((a) => a !== '--cluster')
            .join(' ')}`
        : ''
    }`.trimEnd(),
    options,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      memory_gib: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      kernel: release(),
      loadavg_start: loadAtStart,
      loadavg_end: loadavg().map((v) => round(v, 2)),
    },
    import_seconds: round(importSeconds, 2),
    results,
    targets: rows,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `cluster-${stamp}.json`);
  // the nodes' logs (warnings and errors) next to the figures
  keepLogs(dir, stamp);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  printTable(rows, report.machine, options);
  log(`results written to ${file}, the nodes' logs to cluster-${stamp}-{a,b}.log`);
  return 0;
}

/** The nodes' logs (their warnings and errors) copied next to the figures, before `dir` is removed. */
function keepLogs(dir: string, stamp: string): void {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  for (const name of ['a', 'b']) {
    const from = join(dir, `${name}.log`);
    if (existsSync(from)) copyFileSync(from, join(ROOT, 'bench/results', `cluster-${stamp}-${name}.log`));
  }
}

interface Row {
  workload: string;
  figure: string;
  value: string;
  target: string;
  met: boolean | null;
}

function evaluate(results: Record<string, any>, options: Options): Row[] {
  const f0 = (n: number) => n.toFixed(0);
  const read = results.read;
  const update = results.update;
  const cross = results.cross_node_delivery;
  const failover = results.failover;
  const readFailures = Object.values<LoadResult>(read.per_node).reduce((n, r) => n + r.non2xx + r.errors, 0);
  return [
    {
      workload: '1 read',
      figure: `req/s, both nodes (a ${f0(read.per_node.a.req_per_s)} p99 ${ms(read.per_node.a.latency.p99_us)}, b ${f0(read.per_node.b.req_per_s)} p99 ${ms(read.per_node.b.latency.p99_us)})`,
      value: f0(read.total_req_per_s),
      target: '(recorded)',
      met: readFailures === 0 ? null : false,
    },
    {
      workload: '1 read',
      figure: 'failed answers (non-2xx or errors)',
      value: String(readFailures),
      target: '0',
      met: readFailures === 0,
    },
    {
      workload: '1 update',
      figure:
        `delivered updates/s, both nodes (a ${f0(update.per_node.a.req_per_s)}, b ${f0(update.per_node.b.req_per_s)} req/s, ` +
        `HTTP p99 ${ms(Math.max(update.per_node.a.latency.p99_us, update.per_node.b.latency.p99_us))}, ${update.failed_answers} failed)`,
      value: f0(update.delivered_per_s),
      target: '(recorded)',
      met: update.undelivered_after_drain === 0 && update.failed_answers === 0 ? null : false,
    },
    {
      workload: '2 cross-node',
      figure: `update via a → tracker on b, delivery p50 / p99 at ${options.pacedRate}/s (achieved ${f0(cross.req_per_s)}/s, ${cross.unsent} unsent, ${cross.non2xx + cross.errors} failed)`,
      value: `${ms(cross.delivery_latency.p50_us)} / ${ms(cross.delivery_latency.p99_us)}`,
      target: `p99 ≤ ${DELIVERY_P99_TARGET_US / 1000} ms`,
      met:
        (cross.delivery_latency.p99_us ?? Infinity) <= DELIVERY_P99_TARGET_US &&
        cross.req_per_s >= 0.95 * options.pacedRate &&
        cross.undelivered_after_drain === 0,
    },
    {
      workload: '3 failover',
      figure: `SIGKILL a → all ${failover.trackers} on b at their latest version (${failover.updates_through_b.accepted} updated through b meanwhile, ${failover.updates_through_b.failed} failed)`,
      value: failover.seconds === null ? `not within ${options.failoverDeadlineSeconds} s` : `${failover.seconds.toFixed(2)} s`,
      target: `≤ ${FAILOVER_TARGET_S} s`,
      met: failover.seconds !== null && failover.seconds <= FAILOVER_TARGET_S,
    },
    {
      workload: '3 failover',
      figure: 'kill → latest version per tracker p50 / p99',
      value: `${ms(failover.kill_to_latest_per_tracker.p50_us)} / ${ms(failover.kill_to_latest_per_tracker.p99_us)}`,
      target: '(recorded)',
      met: null,
    },
    {
      workload: 'all',
      figure: 'lost: updates never delivered / trackers without their latest version after failover',
      value: `${update.undelivered_after_drain + cross.undelivered_after_drain} / ${failover.lost}`,
      target: '0 / 0',
      met: update.undelivered_after_drain + cross.undelivered_after_drain === 0 && failover.lost === 0,
    },
  ];
}

function printTable(rows: Row[], machine: Record<string, unknown>, options: Options): void {
  const header: Row = { workload: 'workload', figure: 'figure', value: 'trackconf', target: 'target', met: null };
  const cells = (r: Row) => [r.workload, r.figure, r.value, r.target, r === header ? 'met' : r.met === null ? '—' : r.met ? 'yes' : 'NO'];
  const all = [header, ...rows].map(cells);
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const out = [
    '',
    `trackconf cluster benchmark — 2 nodes + PostgreSQL (default settings) + Redis, ${options.trackers} trackers${options.quick ? ' (--quick)' : ''}; ` +
      `${machine.cpus} cores (${machine.cpu_model}), Node ${machine.node}; nothing pinned, load average ${String(machine.loadavg_start)} at start`,
    line(all[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...all.slice(1).map(line),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}
