/**
 * What counting one HTTP answer costs (docs/operations.md#metrics): the service's plain-number count
 * against prom-client's `inc()` on a cached label child.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/metrics-count.js
 */
import { Counter, Registry } from 'prom-client';
import { ACTIONS } from '../src/http/actions.js';
import { Metrics } from '../src/metrics.js';

const N = 10_000_000;
const sources = {
  connectedTrackers: () => 0,
  trackersByState: () => [],
  walBytes: () => 0,
  malformedPayloads: () => 0,
  loginFailures: () => ({ failures: 0, throttled: 0 }),
};
const metrics = new Metrics(sources, ACTIONS.keys(), { node: 'bench' });
const counter = new Counter({ name: 'bench_total', help: 'bench', labelNames: ['call', 'code'], registers: [new Registry()] });
const child = counter.labels('tracker/settings/tracking/read', '0');

function ns(run: () => void): string {
  const start = process.hrtime.bigint();
  run();
  return (Number(process.hrtime.bigint() - start) / N).toFixed(1);
}

for (let round = 0; round < 3; round++) {
  const plain = ns(() => {
    for (let i = 0; i < N; i++) metrics.answered('tracker/settings/tracking/read', 0);
  });
  const labelled = ns(() => {
    for (let i = 0; i < N; i++) child.inc();
  });
  process.stdout.write(`per answer: Metrics.answered ${plain} ns, prom-client label child inc() ${labelled} ns\n`);
}
