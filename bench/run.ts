/**
 * `npm run bench [-- --quick] [--trackers N] [--profile] [--no-mosquitto] [--soak-seconds S]`
 * (`npm run bench -- --cluster …`: several nodes, bench/cluster.ts)
 *
 * Runs the built service (`dist/src/cli/main.js serve`) as its own process pinned to core 0 and
 * drives it from this process, re-executed pinned to core 1 (taskset, when available). Baselines run
 * on core 0 in the same run, one at a time: a raw `node:http` server and Debian's Mosquitto.
 * Writes bench/results/<ISO date>.json and prints a table of every figure, baseline, ratio and target.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Fleet, publishRetained } from './lib/fleet.js';
import { closedLoop, encodeRequest, pacedLoop, type HttpResponse } from './lib/http-load.js';
import { PhaseProfiler } from './lib/inspector.js';
import { TASKSET, cpusAllowed, freePort, sampleProc, type ProcSample } from './lib/proc.js';
import { Samples, ms, nowUs, sleep } from './lib/stats.js';
import { DeliveryTracker, acceptedVersion, fullSettings, readRequests, updateBytes, updateRequest } from './lib/updates.js';
import { BENCH_PROFILE, ROOT, benchFleet, ensureMosquitto, startMosquitto, startRawHttp, startService } from './lib/targets.js';

const SERVICE_CORE = TASKSET ? 0 : undefined;
const LOAD_CORE = 1;

// ---------------------------------------------------------------- options

interface Options {
  quick: boolean;
  trackers: number;
  phaseSeconds: number;
  soakSeconds: number;
  soakRate: number;
  profile: boolean;
  mosquitto: boolean;
  connectWindow: number;
  stormWindow: number;
  readConnections: number;
  pacedConnections: number;
}

function parseOptions(argv: readonly string[]): Options {
  const number = { type: 'string' } as const;
  const flag = { type: 'boolean' } as const;
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: flag,
      profile: flag,
      'no-mosquitto': flag,
      trackers: number,
      'phase-seconds': number,
      'soak-seconds': number,
      'soak-rate': number,
      'connect-window': number,
      'storm-window': number,
    },
  });
  const value = (name: keyof typeof values): number | undefined => {
    const text = values[name];
    if (typeof text !== 'string') return undefined;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a number`);
    return n;
  };
  const quick = values.quick === true;
  return {
    quick,
    trackers: value('trackers') ?? (quick ? 2_000 : 10_000),
    phaseSeconds: value('phase-seconds') ?? (quick ? 8 : 20),
    soakSeconds: value('soak-seconds') ?? (quick ? 0 : 600),
    soakRate: value('soak-rate') ?? 500,
    profile: values.profile === true,
    mosquitto: values['no-mosquitto'] !== true,
    connectWindow: value('connect-window') ?? 100,
    stormWindow: value('storm-window') ?? 100,
    readConnections: 50,
    pacedConnections: 100,
  };
}

// ---------------------------------------------------------------- helpers

const started = Date.now();
function log(message: string): void {
  const t = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${message}\n`);
}

/** TcpExt ListenOverflows (SYNs dropped because an accept queue was full): a fairness check. */
function listenOverflows(): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const header = lines.find((l) => l.startsWith('TcpExt:'))!.split(/\s+/);
    const values = lines.filter((l) => l.startsWith('TcpExt:'))[1]!.split(/\s+/);
    return Number(values[header.indexOf('ListenOverflows')]);
  } catch {
    return Number.NaN;
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), to see what other processes took. */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU and RSS of the process under test and of this load process over a phase. */
class Phase {
  private readonly before: ProcSample;
  private readonly loadBefore = process.cpuUsage();
  private readonly overflowsBefore = listenOverflows();
  private readonly machineBefore = machineJiffies();
  private readonly t0 = nowUs();

  constructor(private readonly pid: number) {
    this.before = sampleProc(pid);
  }

  end() {
    const after = sampleProc(this.pid);
    const load = process.cpuUsage(this.loadBefore);
    const wallUs = nowUs() - this.t0;
    const machine = machineJiffies();
    const cores = cpus().length;
    const machinePct = (100 * cores * (machine.busy - this.machineBefore.busy)) / Math.max(1, machine.total - this.machineBefore.total);
    const targetPct = (100 * (after.cpuUs - this.before.cpuUs)) / wallUs;
    const loadPct = (100 * (load.user + load.system)) / wallUs;
    return {
      wall_s: round(wallUs / 1e6, 3),
      target_cpu_us: Math.round(after.cpuUs - this.before.cpuUs),
      target_cpu_pct: round(targetPct, 1),
      load_cpu_pct: round(loadPct, 1),
      rss_before_kb: this.before.rssKb,
      rss_after_kb: after.rssKb,
      listen_overflows: listenOverflows() - this.overflowsBefore,
      /** Whole machine, % of one core (200 = both cores busy). */
      machine_busy_pct: round(machinePct, 1),
      /** What other processes on the machine used meanwhile (% of one core): noise in the figures. */
      other_processes_cpu_pct: round(Math.max(0, machinePct - targetPct - loadPct), 1),
    };
  }
}

function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const loadAtStart = loadavg().map((v) => round(v, 2));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const dir = mkdtempSync(join(tmpdir(), 'trackconf-bench-'));
  const profileDir = join(ROOT, 'bench/results/profiles', stamp);
  const trackers = benchFleet(options.trackers);
  const results: Record<string, unknown> = {};
  log(
    `trackers=${options.trackers} phase=${options.phaseSeconds}s soak=${options.soakSeconds}s ` +
      `load on CPUs ${cpusAllowed('self')}, targets on core ${SERVICE_CORE ?? '(unpinned: taskset missing)'}; work dir ${dir}`,
  );

  // ---- baseline 1: raw node:http
  log('raw node:http baseline: starting');
  const raw = await startRawHttp(SERVICE_CORE);
  const rawRead = encodeRequest(raw.port, {
    method: 'POST',
    path: '/tracker/settings/tracking/read',
    body: JSON.stringify({ hash: '0'.repeat(32), tracker_id: trackers[0]!.trackerId }),
  });
  await closedLoop({ port: raw.port, connections: options.readConnections, durationMs: 2000, next: () => ({ bytes: rawRead }) });
  let phase = new Phase(raw.pid);
  const rawResult = await closedLoop({
    port: raw.port,
    connections: options.readConnections,
    durationMs: options.phaseSeconds * 1000,
    next: () => ({ bytes: rawRead }),
  });
  results.raw_http = { ...rawResult, process: phase.end(), cpus: cpusAllowed(raw.pid) };
  await raw.stop();
  log(`raw node:http: ${rawResult.req_per_s.toFixed(0)} req/s, p99 ${ms(rawResult.latency.p99_us)}`);

  // ---- trackconf
  const inspectPort = options.profile ? await freePort() : 0;
  const nodeArgs = options.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : [];
  if (options.profile) mkdirSync(profileDir, { recursive: true });
  const service = await startService({ dir, fleet: trackers, core: SERVICE_CORE, nodeArgs, log });
  const profiler = options.profile ? await PhaseProfiler.connect(inspectPort) : undefined;
  const profileStart = () => profiler?.start();
  const profileStop = async (name: string) => {
    if (!profiler) return;
    await profiler.stop(join(profileDir, `${name}.cpuprofile`));
    log(`  CPU profile: ${join(profileDir, `${name}.cpuprofile`)}`);
  };
  const serviceCpus = cpusAllowed(service.pid);
  const idle = sampleProc(service.pid);
  log(`trackconf serving (pid ${service.pid}, CPUs ${serviceCpus}), RSS ${idle.rssKb} KB`);
  const deliveries = new DeliveryTracker(trackers.length);
  const fleet = new Fleet(trackers, {
    port: service.mqttPort,
    onConfig: (a) => deliveries.onConfig(a.index, a.version, a.atUs),
  });

  // 3. connect
  log(`connect: ${trackers.length} trackers connect and subscribe (${options.connectWindow} handshakes in flight)`);
  await sleep(1000);
  const memBefore = await profiler?.memory();
  await profileStart();
  phase = new Phase(service.pid);
  const connect = await fleet.connectAll(options.connectWindow);
  await profileStop('connect');
  await sleep(2000); // let the service settle (GC) before reading its RSS
  const connectProc = phase.end();
  const memAfter = await profiler?.memory();
  if (memBefore && memAfter) {
    const per = (k: keyof typeof memAfter) => round((memAfter[k] - memBefore[k]) / 1024 / trackers.length, 2);
    results.connect_heap = { before: memBefore, after: memAfter, kb_per_tracker: { rss: per('rss'), heapUsed: per('heapUsed'), external: per('external') } };
    log(`connect (after a full GC): heap ${per('heapUsed')} KB, external ${per('external')} KB, RSS ${per('rss')} KB per tracker`);
  }
  results.connect = {
    ...connect,
    process: connectProc,
    cpu_us_per_connect: round(connectProc.target_cpu_us / connect.clients, 1),
    kb_per_tracker: round((connectProc.rss_after_kb - connectProc.rss_before_kb) / connect.clients, 2),
  };
  log(
    `connect: ${connect.per_s.toFixed(0)} connects/s, ${round(connectProc.target_cpu_us / connect.clients, 1)} µs CPU each, ` +
      `RSS ${connectProc.rss_before_kb} → ${connectProc.rss_after_kb} KB, failed ${connect.failed}`,
  );

  const onUpdate = (res: HttpResponse, sentUs: number, tag: unknown) => {
    const version = acceptedVersion(res);
    if (version === undefined) return false;
    deliveries.onAccepted(tag as number, version, sentUs);
    return true;
  };
  // every device gets its first config (delivered live), so reads return real settings and the storm has a config for each
  const unconfigured = trackers.map((_, i) => i).filter((i) => deliveries.latest[i] === 0);
  log(`seeding a config for the ${unconfigured.length} trackers without one`);
  let seedNext = 0;
  await closedLoop({
    port: service.httpPort,
    connections: options.readConnections,
    durationMs: 120_000,
    next: () => {
      const index = unconfigured[seedNext++]!;
      return { bytes: updateBytes(service.httpPort, service.hash, trackers[index]!.trackerId, index), tag: index };
    },
    onResponse: onUpdate,
    stopWhen: () => seedNext >= unconfigured.length,
  });
  await deliveries.requireSeeded(trackers.length, 15_000);
  log(`seeded: ${deliveries.accepted} configs accepted and delivered`);

  // 1. read
  const readBodies = readRequests(service.httpPort, service.hash, trackers);
  const nextRead = () => ({ bytes: readBodies[Math.floor(Math.random() * readBodies.length)]! });
  log('read: warm-up');
  await closedLoop({ port: service.httpPort, connections: options.readConnections, durationMs: 3000, next: nextRead });
  log(`read: ${options.readConnections} connections for ${options.phaseSeconds} s`);
  await profileStart();
  phase = new Phase(service.pid);
  const read = await closedLoop({
    port: service.httpPort,
    connections: options.readConnections,
    durationMs: options.phaseSeconds * 1000,
    next: nextRead,
  });
  results.read = { ...read, process: phase.end() };
  await profileStop('read');
  log(`read: ${read.req_per_s.toFixed(0)} req/s, p99 ${ms(read.latency.p99_us)}, non-2xx ${read.non2xx}, errors ${read.errors}`);

  // 2. update
  const nextUpdate = updateRequest(service.httpPort, service.hash, trackers);
  log('update: warm-up');
  await closedLoop({ port: service.httpPort, connections: options.readConnections, durationMs: 3000, next: nextUpdate, onResponse: onUpdate });
  await deliveries.drain(10_000);
  log(`update: closed loop, ${options.readConnections} connections for ${options.phaseSeconds} s`);
  deliveries.samples = new Samples();
  const deliveredBefore = deliveries.delivered;
  await profileStart();
  phase = new Phase(service.pid);
  const update = await closedLoop({
    port: service.httpPort,
    connections: options.readConnections,
    durationMs: options.phaseSeconds * 1000,
    next: nextUpdate,
    onResponse: onUpdate,
  });
  const updateProc = phase.end();
  await profileStop('update');
  const lostAfterUpdate = await deliveries.drain(10_000);
  const closedDelivery = deliveries.samples.summary();
  results.update = {
    ...update,
    process: updateProc,
    delivered: deliveries.delivered - deliveredBefore,
    undelivered_after_drain: lostAfterUpdate,
    delivered_per_s: round(update.ok / update.elapsed_s - lostAfterUpdate / update.elapsed_s, 1),
    delivery_latency: closedDelivery,
  };
  log(
    `update: ${(update.ok / update.elapsed_s).toFixed(0)} updates/s accepted, undelivered ${lostAfterUpdate}, ` +
      `HTTP p99 ${ms(update.latency.p99_us)}, delivery p99 ${ms(closedDelivery.p99_us)}`,
  );

  const paced: Record<string, unknown> = {};
  for (const rate of [1000, 5000]) {
    log(`update paced at ${rate}/s for ${options.phaseSeconds} s`);
    deliveries.samples = new Samples();
    await profileStart();
    phase = new Phase(service.pid);
    const r = await pacedLoop({
      port: service.httpPort,
      connections: options.pacedConnections,
      rate,
      durationMs: options.phaseSeconds * 1000,
      next: nextUpdate,
      onResponse: onUpdate,
    });
    const proc = phase.end();
    await profileStop(`update-paced-${rate}`);
    const undelivered = await deliveries.drain(10_000);
    const delivery = deliveries.samples.summary();
    paced[String(rate)] = { ...r, process: proc, undelivered_after_drain: undelivered, delivery_latency: delivery };
    log(
      `  ${rate}/s: achieved ${r.req_per_s.toFixed(0)}/s, delivery p50 ${ms(delivery.p50_us)} p99 ${ms(delivery.p99_us)}, ` +
        `HTTP p99 ${ms(r.latency.p99_us)}, service CPU ${proc.target_cpu_pct}%, undelivered ${undelivered}`,
    );
  }
  results.update_paced = paced;
  deliveries.samples = undefined;

  const latest = (i: number) => deliveries.latest[i]!;
  const behindBeforeStorm = fleet.behind(latest).length;
  log(`before the storm: ${behindBeforeStorm} trackers behind their latest version`);

  // 4. reconnect storm
  log(`reconnect storm: ${trackers.length} trackers drop and reconnect (${options.stormWindow} handshakes in flight)`);
  await sleep(1000);
  await profileStart();
  phase = new Phase(service.pid);
  fleet.dropAll();
  const storm = await fleet.connectAll(options.stormWindow, latest);
  const stormProc = phase.end();
  await profileStop('storm');
  const staleAfterStorm = fleet.behind(latest).length;
  results.storm = {
    ...storm,
    process: stormProc,
    cpu_us_per_reconnect: round(stormProc.target_cpu_us / storm.clients, 1),
    stale_after: staleAfterStorm,
    behind_before: behindBeforeStorm,
  };
  log(
    `storm: all configured in ${storm.elapsed_s.toFixed(2)} s, SUBSCRIBE→config p50 ${ms(storm.subscribe_to_config?.p50_us)} ` +
      `p99 ${ms(storm.subscribe_to_config?.p99_us)}, ${round(stormProc.target_cpu_us / storm.clients, 1)} µs CPU each, ` +
      `failed ${storm.failed}, stale ${staleAfterStorm}`,
  );

  // 5. soak
  if (options.soakSeconds > 0) {
    log(`soak: ${options.soakRate} updates/s for ${options.soakSeconds} s, trackers acknowledge what they apply`);
    fleet.setAckApplied(true);
    const rss: Array<{ t_s: number; rss_kb: number }> = [];
    const soakStart = sampleProc(service.pid);
    rss.push({ t_s: 0, rss_kb: soakStart.rssKb });
    const t0 = Date.now();
    const sampler = setInterval(() => {
      const s = sampleProc(service.pid);
      rss.push({ t_s: Math.round((Date.now() - t0) / 1000), rss_kb: s.rssKb });
      if (rss.length % 6 === 0) log(`  soak ${Math.round((Date.now() - t0) / 1000)} s: RSS ${s.rssKb} KB`);
    }, 10_000);
    deliveries.samples = new Samples();
    phase = new Phase(service.pid);
    const soak = await pacedLoop({
      port: service.httpPort,
      connections: options.pacedConnections,
      rate: options.soakRate,
      durationMs: options.soakSeconds * 1000,
      next: nextUpdate,
      onResponse: onUpdate,
    });
    clearInterval(sampler);
    const undelivered = await deliveries.drain(15_000);
    await sleep(2000);
    const soakProc = phase.end();
    const stale = fleet.behind(latest).length;
    const end = sampleProc(service.pid);
    rss.push({ t_s: Math.round((Date.now() - t0) / 1000), rss_kb: end.rssKb });
    results.soak = {
      ...soak,
      process: soakProc,
      rss_start_kb: soakStart.rssKb,
      rss_end_kb: end.rssKb,
      rss_growth_pct: round((100 * (end.rssKb - soakStart.rssKb)) / soakStart.rssKb, 1),
      rss_samples: rss,
      undelivered_after_drain: undelivered,
      stale_trackers: stale,
      delivery_latency: deliveries.samples.summary(),
    };
    log(
      `soak: RSS ${soakStart.rssKb} → ${end.rssKb} KB, undelivered ${undelivered}, stale trackers ${stale}, ` +
        `delivery p99 ${ms(deliveries.samples.summary().p99_us)}`,
    );
    deliveries.samples = undefined;
    fleet.setAckApplied(false);
  }

  results.trackconf = {
    pid_cpus: serviceCpus,
    import_seconds: round(service.importSeconds, 2),
    unexpected_closes: fleet.unexpectedCloses,
    refused_connacks: fleet.refusedConnacks,
    refused_subacks: fleet.refusedSubacks,
    configs_received: fleet.configsReceived,
    accepted_updates: deliveries.accepted,
    final_stale_trackers: fleet.behind(latest).length,
  };
  fleet.dropAll();
  profiler?.close();
  const exit = await service.stop();
  log(`trackconf stopped (exit ${exit})`);

  // ---- baseline 2: Mosquitto, the same fleet
  if (options.mosquitto) {
    const binary = ensureMosquitto(log);
    if (!binary) {
      log('mosquitto unavailable: its baselines are skipped');
      results.mosquitto = { skipped: 'mosquitto could not be installed' };
    } else {
      const mosq = await startMosquitto(binary.path, join(dir, 'mosquitto'), SERVICE_CORE);
      const mosqFleet = new Fleet(trackers, { port: mosq.port });
      log(`mosquitto ${binary.version} (pid ${mosq.pid}, CPUs ${cpusAllowed(mosq.pid)}): connect`);
      await sleep(1000);
      phase = new Phase(mosq.pid);
      const mConnect = await mosqFleet.connectAll(options.connectWindow);
      await sleep(2000);
      const mConnectProc = phase.end();
      log(
        `mosquitto connect: ${mConnect.per_s.toFixed(0)} connects/s, ${round(mConnectProc.target_cpu_us / mConnect.clients, 1)} µs CPU each, ` +
          `RSS ${mConnectProc.rss_before_kb} → ${mConnectProc.rss_after_kb} KB`,
      );
      // the same retained configs trackconf served (same payload shape and size), one publisher
      const payloadOf = (i: number, version: number) =>
        Buffer.from(
          JSON.stringify({
            version,
            profile: BENCH_PROFILE,
            settings: fullSettings(i),
            changed_at: new Date().toISOString(),
          }),
        );
      const mLatest = (i: number) => Math.max(1, deliveries.latest[i]!);
      const publishSeconds = await publishRetained(
        mosq.port,
        trackers.map((t, i) => ({ topic: `trackers/${t.deviceId}/config/tracking`, payload: payloadOf(i, mLatest(i)) })),
      );
      const deadline = Date.now() + 15_000;
      while (mosqFleet.behind(mLatest).length > 0 && Date.now() < deadline) await sleep(50);
      log(`mosquitto: ${trackers.length} retained configs published in ${publishSeconds.toFixed(2)} s; storm`);
      await sleep(1000);
      phase = new Phase(mosq.pid);
      mosqFleet.dropAll();
      const mStorm = await mosqFleet.connectAll(options.stormWindow, mLatest);
      const mStormProc = phase.end();
      log(
        `mosquitto storm: all configured in ${mStorm.elapsed_s.toFixed(2)} s, SUBSCRIBE→config p99 ${ms(mStorm.subscribe_to_config?.p99_us)}, ` +
          `${round(mStormProc.target_cpu_us / mStorm.clients, 1)} µs CPU each`,
      );
      results.mosquitto = {
        version: binary.version,
        cpus: cpusAllowed(mosq.pid),
        connect: {
          ...mConnect,
          process: mConnectProc,
          cpu_us_per_connect: round(mConnectProc.target_cpu_us / mConnect.clients, 1),
          kb_per_tracker: round((mConnectProc.rss_after_kb - mConnectProc.rss_before_kb) / mConnect.clients, 2),
        },
        retained_publish_seconds: round(publishSeconds, 2),
        storm: {
          ...mStorm,
          process: mStormProc,
          cpu_us_per_reconnect: round(mStormProc.target_cpu_us / mStorm.clients, 1),
          stale_after: mosqFleet.behind(mLatest).length,
        },
        unexpected_closes: mosqFleet.unexpectedCloses,
      };
      mosqFleet.dropAll();
      await mosq.stop();
    }
  }

  // ---- report
  const targets = evaluate(results, options);
  const others: number[] = [];
  const collect = (value: unknown): void => {
    if (typeof value !== 'object' || value === null) return;
    const v = value as Record<string, unknown>;
    if (typeof v.other_processes_cpu_pct === 'number') others.push(v.other_processes_cpu_pct);
    for (const inner of Object.values(v)) collect(inner);
  };
  collect(results);
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    options,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model ?? 'unknown',
      memory_gib: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      kernel: release(),
      taskset: TASKSET !== undefined,
      load_cpus: cpusAllowed('self'),
      service_cpus: serviceCpus,
      loadavg_start: loadAtStart,
      loadavg_end: loadavg().map((v) => round(v, 2)),
      contention: others.length ? `${Math.min(...others)}–${Math.max(...others)}%` : 'unknown',
    },
    ...(options.profile && { cpu_profile_dir: profileDir }),
    results,
    targets,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  printTable(targets, report.machine, options);
  log(`results written to ${file}`);
  rmSync(dir, { recursive: true, force: true });
  return 0;
}

// ---------------------------------------------------------------- targets

interface TargetRow {
  workload: string;
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

function evaluate(results: Record<string, any>, options: Options): TargetRow[] {
  const rows: TargetRow[] = [];
  const rawRps: number = results.raw_http.req_per_s;
  const f0 = (n: number | null | undefined) => (n === null || n === undefined ? 'n/a' : n.toFixed(0));
  const read = results.read;
  const readRatio = read.req_per_s / rawRps;
  rows.push({
    workload: '1 read',
    figure: `req/s (p99 ${ms(read.latency.p99_us)})`,
    value: f0(read.req_per_s),
    baseline: `raw node:http ${f0(rawRps)} (p99 ${ms(results.raw_http.latency.p99_us)})`,
    ratio: `${(readRatio * 100).toFixed(1)}%`,
    target: '≥ 75%',
    met: readRatio >= 0.75 && read.non2xx === 0 && read.errors === 0,
  });
  const perCpu = (r: any) => r.req_per_s / Math.max(0.01, r.process.target_cpu_pct / 100);
  const rawPerCpu = perCpu(results.raw_http);
  rows.push({
    workload: '1 read',
    figure: 'req per service CPU-second (contention-independent)',
    value: f0(perCpu(read)),
    baseline: `raw node:http ${f0(rawPerCpu)}`,
    ratio: `${((100 * perCpu(read)) / rawPerCpu).toFixed(1)}%`,
    target: '(recorded)',
    met: null,
  });
  const upd = results.update;
  const updRatio = upd.delivered_per_s / rawRps;
  rows.push({
    workload: '2 update',
    figure: `delivered updates/s (HTTP p99 ${ms(upd.latency.p99_us)})`,
    value: f0(upd.delivered_per_s),
    baseline: `raw node:http ${f0(rawRps)}`,
    ratio: `${(updRatio * 100).toFixed(1)}%`,
    target: '≥ 25%',
    met: updRatio >= 0.25,
  });
  rows.push({
    workload: '2 update',
    figure: 'delivered updates per service CPU-second',
    value: f0(upd.delivered_per_s / Math.max(0.01, upd.process.target_cpu_pct / 100)),
    baseline: `raw node:http ${f0(rawPerCpu)}`,
    ratio: `${((100 * upd.delivered_per_s) / Math.max(0.01, upd.process.target_cpu_pct / 100) / rawPerCpu).toFixed(1)}%`,
    target: '(recorded)',
    met: null,
  });
  for (const rate of ['1000', '5000']) {
    const p = results.update_paced[rate];
    const achieved = p.req_per_s / Number(rate);
    rows.push({
      workload: '2 update',
      figure: `delivery p50/p99 at ${rate}/s (achieved ${f0(p.req_per_s)}/s)`,
      value: `${ms(p.delivery_latency.p50_us)} / ${ms(p.delivery_latency.p99_us)}`,
      baseline: '',
      ratio: '',
      target: rate === '5000' ? `p99 ≤ 10 ms at 5,000/s, ${options.trackers} trackers` : '(recorded)',
      met: rate === '5000' ? (p.delivery_latency.p99_us ?? Infinity) <= 10_000 && achieved >= 0.95 : null,
    });
  }
  const con = results.connect;
  const mq = results.mosquitto?.connect;
  const cpuRatio = mq ? con.cpu_us_per_connect / mq.cpu_us_per_connect : Number.NaN;
  rows.push({
    workload: '3 connect',
    figure: 'service CPU µs per connect+subscribe',
    value: con.cpu_us_per_connect.toFixed(1),
    baseline: mq ? `mosquitto ${mq.cpu_us_per_connect.toFixed(1)}` : 'n/a',
    ratio: mq ? `${cpuRatio.toFixed(2)}×` : 'n/a',
    target: '≤ 3×',
    met: mq ? cpuRatio <= 3 : null,
  });
  rows.push({
    workload: '3 connect',
    figure: 'connects/s',
    value: f0(con.per_s),
    baseline: mq ? `mosquitto ${f0(mq.per_s)}` : 'n/a',
    ratio: mq ? `${((con.per_s / mq.per_s) * 100).toFixed(0)}%` : 'n/a',
    target: '(recorded)',
    met: null,
  });
  rows.push({
    workload: '3 connect',
    figure: `RSS KB per connected tracker (${con.process.rss_before_kb} → ${con.process.rss_after_kb} KB)`,
    value: con.kb_per_tracker.toFixed(2),
    baseline: mq ? `mosquitto ${mq.kb_per_tracker.toFixed(2)}` : 'n/a',
    ratio: '',
    target: '≤ 12 KB',
    met: con.kb_per_tracker <= 12,
  });
  const st = results.storm;
  const ms_ = results.mosquitto?.storm;
  rows.push({
    workload: '4 storm',
    figure: `time until all ${st.clients} hold their latest config`,
    value: `${st.elapsed_s.toFixed(2)} s`,
    baseline: ms_ ? `mosquitto ${ms_.elapsed_s.toFixed(2)} s` : 'n/a',
    ratio: ms_ ? `${(st.elapsed_s / ms_.elapsed_s).toFixed(2)}×` : 'n/a',
    target: '≤ 1× mosquitto',
    met: ms_ ? st.elapsed_s <= ms_.elapsed_s && st.failed === 0 : null,
  });
  rows.push({
    workload: '4 storm',
    figure: 'SUBSCRIBE→config p50 / p99',
    value: `${ms(st.subscribe_to_config.p50_us)} / ${ms(st.subscribe_to_config.p99_us)}`,
    baseline: ms_ ? `mosquitto ${ms(ms_.subscribe_to_config.p50_us)} / ${ms(ms_.subscribe_to_config.p99_us)}` : 'n/a',
    ratio: '',
    target: 'p99 ≤ 50 ms',
    met: (st.subscribe_to_config.p99_us ?? Infinity) <= 50_000,
  });
  rows.push({
    workload: '4 storm',
    figure: 'service CPU µs per reconnect',
    value: st.cpu_us_per_reconnect.toFixed(1),
    baseline: ms_ ? `mosquitto ${ms_.cpu_us_per_reconnect.toFixed(1)}` : 'n/a',
    ratio: ms_ ? `${(st.cpu_us_per_reconnect / ms_.cpu_us_per_reconnect).toFixed(2)}×` : 'n/a',
    target: '(recorded)',
    met: null,
  });
  if (results.soak) {
    const so = results.soak;
    rows.push({
      workload: '5 soak',
      figure: `RSS growth over ${options.soakSeconds} s at ${options.soakRate}/s (${so.rss_start_kb} → ${so.rss_end_kb} KB)`,
      value: `${so.rss_growth_pct.toFixed(1)}%`,
      baseline: '',
      ratio: '',
      target: '≤ 10%',
      met: so.rss_growth_pct <= 10,
    });
  }
  const lost =
    upd.undelivered_after_drain +
    results.update_paced['1000'].undelivered_after_drain +
    results.update_paced['5000'].undelivered_after_drain +
    (results.soak?.undelivered_after_drain ?? 0);
  const stale = st.stale_after + st.failed + (results.soak?.stale_trackers ?? 0) + results.trackconf.final_stale_trackers;
  rows.push({
    workload: 'all',
    figure: 'lost updates / stale or unconfigured trackers',
    value: `${lost} / ${stale}`,
    baseline: '',
    ratio: '',
    target: '0 / 0',
    met: lost === 0 && stale === 0,
  });
  return rows;
}

function printTable(rows: TargetRow[], machine: Record<string, unknown>, options: Options): void {
  const header: TargetRow = { workload: 'workload', figure: 'figure', value: 'trackconf', baseline: 'baseline', ratio: 'ratio', target: 'target', met: null };
  const cells = (r: TargetRow) => [
    r.workload,
    r.figure,
    r.value,
    r.baseline,
    r.ratio,
    r.target,
    r === header ? 'met' : r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ];
  const all = [header, ...rows].map(cells);
  const widths = all[0]!.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const out = [
    '',
    `other processes on the machine used ${machine.contention} (% of one core, per phase): figures are from a shared machine when this is not ~0`,
    `trackconf benchmark — ${options.trackers} trackers${options.quick ? ' (--quick)' : ''}; ${machine.cpus} cores (${machine.cpu_model}), Node ${machine.node}; ` +
      `load on CPU ${machine.load_cpus}, service/baselines on CPU ${machine.service_cpus}`,
    line(all[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...all.slice(1).map(line),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------- entry

/** Re-executes this script pinned to the load core, so that the service's core is left to it. */
function pinSelf(): Promise<number> | undefined {
  if (!TASKSET || process.env.TRACKCONF_BENCH_PINNED === '1') return undefined;
  const child = spawn(TASKSET, ['-c', String(LOAD_CORE), process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, TRACKCONF_BENCH_PINNED: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

/** `--cluster`: the several-nodes bench (bench/cluster.ts), which pins nothing. */
const cluster = process.argv.includes('--cluster');
const clusterMain = async () => (await import('./cluster.js')).main(process.argv.slice(2).filter((arg) => arg !== '--cluster'));

(cluster ? clusterMain() : (pinSelf() ?? main())).then(
  (code) => {
    process.exitCode = code;
    if (cluster || process.env.TRACKCONF_BENCH_PINNED === '1' || !TASKSET) setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
