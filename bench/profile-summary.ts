/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- --profile`):
 * top functions by self time, and self time by module (src/ file or node_modules package).
 * Usage: node dist/bench/profile-summary.js <file.cpuprofile> [top=30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, topText] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
  process.exit(1);
}
const top = Number(topText ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function moduleOf(url: string): string {
  if (!url) return '(native/V8)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const src = /\/dist\/(src\/.*)\.js$/.exec(url) ?? /\/(src\/.*)\.[jt]s$/.exec(url);
  if (src) return src[1]!;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

const fn = new Map<string, number>();
const mod = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const name = `${functionName || '(anonymous)'} ${moduleOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
  fn.set(name, (fn.get(name) ?? 0) + us);
  const m = moduleOf(url);
  mod.set(m, (mod.get(m) ?? 0) + us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const out: string[] = [`${file}: ${(total / 1e6).toFixed(2)} s sampled`, '', 'self time by function:'];
for (const [name, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
out.push('', 'self time by module:');
for (const [name, us] of [...mod].sort((a, b) => b[1] - a[1]).slice(0, top)) out.push(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
process.stdout.write(`${out.join('\n')}\n`);
