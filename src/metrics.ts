import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SyncChange } from './settings/types.js';

/** What the metrics read at scrape time (nothing on a hot path pays for them). */
export interface MetricSources {
  connectedTrackers(): number;
  /** Physical trackers (devices) by sync state of their latest version: one grouped COUNT. */
  trackersByState(): Iterable<{ readonly state: string; readonly count: number }>;
  walBytes(): number;
  malformedPayloads(): number;
  loginFailures(): { readonly failures: number; readonly throttled: number };
}

const STATES = ['none', 'pending', 'delivered', 'applied', 'rejected'] as const;

/** From a few milliseconds (delivery to a connected tracker) to a day (one that was offline). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21_600, 86_400];

type CounterChild = ReturnType<Counter<string>['labels']>;

/**
 * The service's Prometheus metrics (docs/operations.md#metrics), on one Registry built by the
 * composition root. The request path adds one to a plain number (no label object, no string built
 * per request); everything else is counted where it happens or read at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  /**
   * call → code → answers so far; only known calls get an entry, every other name counts as
   * `unknown`. Plain numbers: prom-client's `inc()` on a label child hashes its labels each time
   * (a string built per call), so the counter takes these values at scrape time instead.
   */
  private readonly requestCounts = new Map<string, Map<number, number>>();
  private readonly unknownCall = new Map<number, number>();
  private readonly rateLimitedChildren: Record<'http' | 'mqtt', CounterChild>;
  private readonly refusedConnects: Counter<'code'>;
  private readonly refusedChildren = new Map<number, CounterChild>();
  private readonly delivered: Histogram;
  private readonly applied: Histogram;

  constructor(sources: MetricSources, calls: Iterable<string>, options: { readonly node?: string } = {}) {
    const registers = [this.registry];
    if (options.node !== undefined) this.registry.setDefaultLabels({ node: options.node });
    collectDefaultMetrics({ register: this.registry });

    for (const call of calls) this.requestCounts.set(call, new Map([[0, 0]]));
    const requestCounts = this.requestCounts;
    const unknownCall = this.unknownCall;
    new Counter({
      name: 'trackconf_http_requests_total',
      help: 'HTTP API answers by call (unknown: any other path) and Navixy error code (0: success)',
      labelNames: ['call', 'code'],
      registers,
      collect() {
        this.reset();
        for (const [call, codes] of requestCounts) for (const [code, count] of codes) this.labels(call, String(code)).inc(count);
        for (const [code, count] of unknownCall) this.labels('unknown', String(code)).inc(count);
      },
    });

    const rateLimited = new Counter({
      name: 'trackconf_rate_limited_total',
      help: 'Requests (http) and MQTT connects (mqtt) refused by a rate limit',
      labelNames: ['protocol'],
      registers,
    });
    this.rateLimitedChildren = { http: rateLimited.labels('http'), mqtt: rateLimited.labels('mqtt') };

    this.refusedConnects = new Counter({
      name: 'trackconf_mqtt_refused_connects_total',
      help: 'MQTT CONNECTs refused, by CONNACK return code',
      labelNames: ['code'],
      registers,
    });

    this.delivered = new Histogram({
      name: 'trackconf_update_delivered_seconds',
      help: 'From an accepted settings update to its tracker acknowledging the message (PUBACK)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.applied = new Histogram({
      name: 'trackconf_update_applied_seconds',
      help: 'From an accepted settings update to its tracker reporting it applied',
      buckets: LATENCY_BUCKETS,
      registers,
    });

    new Gauge({
      name: 'trackconf_connected_trackers',
      help: 'Trackers connected to this node now',
      registers,
      collect() {
        this.set(sources.connectedTrackers());
      },
    });
    new Gauge({
      name: 'trackconf_trackers',
      help: 'Physical trackers by sync state of their latest settings version',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(STATES.map((state) => [state, 0]));
        for (const { state, count } of sources.trackersByState()) counts.set(state, (counts.get(state) ?? 0) + count);
        for (const [state, count] of counts) this.labels(state).set(count);
      },
    });
    new Gauge({
      name: 'trackconf_sqlite_wal_bytes',
      help: 'Size of the SQLite write-ahead log file',
      registers,
      collect() {
        this.set(sources.walBytes());
      },
    });
    new Counter({
      name: 'trackconf_malformed_tracker_payloads_total',
      help: 'Tracker ack or reported messages dropped as malformed',
      registers,
      collect() {
        this.reset();
        this.inc(sources.malformedPayloads());
      },
    });
    new Counter({
      name: 'trackconf_login_failures_total',
      help: 'Refused password logins (HTTP user/auth and MQTT observers): wrong login or password, or throttled',
      labelNames: ['reason'],
      registers,
      collect() {
        const { failures, throttled } = sources.loginFailures();
        this.reset();
        this.labels('wrong_credentials').inc(failures);
        this.labels('throttled').inc(throttled);
      },
    });
  }

  /** One HTTP API answer (codes come from the error registry, src/errors.ts: a bounded set). */
  answered(call: string, code: number): void {
    const codes = this.requestCounts.get(call) ?? this.unknownCall;
    codes.set(code, (codes.get(code) ?? 0) + 1);
  }

  rateLimited(protocol: 'http' | 'mqtt'): void {
    this.rateLimitedChildren[protocol].inc();
  }

  /** A CONNACK with a non-zero return code was sent. */
  refusedConnect(returnCode: number): void {
    let child = this.refusedChildren.get(returnCode);
    if (child === undefined) {
      child = this.refusedConnects.labels(String(returnCode));
      this.refusedChildren.set(returnCode, child);
    }
    child.inc();
  }

  syncChanged(change: SyncChange): void {
    const seconds = (change.at - change.acceptedAt) / 1000;
    if (!Number.isFinite(seconds)) return;
    if (change.state === 'delivered') this.delivered.observe(Math.max(0, seconds));
    else if (change.state === 'applied') this.applied.observe(Math.max(0, seconds));
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
