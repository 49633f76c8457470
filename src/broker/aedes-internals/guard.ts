/**
 * What every touch of aedes' and mqtt-packet's private code was written against: the exact package
 * versions and a hash of each file whose private code it replaces, calls or relies on. Checked once
 * at start (about a dozen small files read); docs/aedes-internals.md lists each touch and how to
 * re-read a changed file before updating these figures.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The patches of this folder; security controls stop the start when they cannot be installed. */
export type Patch = 'packet-size-cap' | 'retained-subscriber' | 'session-bounds' | 'lean-connect' | 'lean-parser' | 'sys-events';

export const SECURITY_CONTROLS: readonly Patch[] = ['packet-size-cap', 'retained-subscriber', 'session-bounds'];

export interface Followed {
  /** package → exact version */
  readonly packages: Readonly<Record<string, string>>;
  /** `<package>/<path>` → the first 16 hex digits of its SHA-256 */
  readonly files: Readonly<Record<string, string>>;
}

export const FOLLOWED: Followed = {
  packages: { aedes: '1.2.0', 'aedes-persistence': '11.0.0', 'mqtt-packet': '9.0.2', bl: '6.1.6' },
  files: {
    'aedes/aedes.js': '5b4b483b749c0eb5',
    'aedes/lib/handlers/connect.js': 'c522097e13a72a63',
    'aedes/lib/handlers/index.js': '53a336906db65da7',
    'aedes/lib/handlers/subscribe.js': 'e30405a3a906bbf5',
    'aedes/lib/client.js': '7a9961477a92db79',
    'aedes/lib/write.js': 'affdb5d157bbf358',
    'aedes/lib/utils.js': 'ea49a00fd4e5fa4f',
    'aedes/lib/qos-packet.js': '2b35fa5bc73ded5b',
    'aedes-persistence/asyncPersistence.js': '6a79bb17cd2548f2',
    'aedes-persistence/callBackPersistence.js': '701390a203b60b35',
    'mqtt-packet/parser.js': 'bde1d714e10bf2f3',
    'bl/BufferList.js': '213b228bcd49a6d0',
  },
};

/** The files each patch depends on (their packages' versions included). */
export const DEPENDS: Readonly<Record<Patch, readonly string[]>> = {
  'packet-size-cap': ['aedes/aedes.js', 'aedes/lib/client.js', 'mqtt-packet/parser.js'],
  'retained-subscriber': ['aedes/lib/handlers/subscribe.js', 'aedes/lib/utils.js'],
  'session-bounds': ['aedes/aedes.js', 'aedes/lib/handlers/subscribe.js', 'aedes-persistence/asyncPersistence.js', 'aedes-persistence/callBackPersistence.js'],
  'lean-connect': [
    'aedes/aedes.js',
    'aedes/lib/handlers/connect.js',
    'aedes/lib/handlers/index.js',
    'aedes/lib/client.js',
    'aedes/lib/write.js',
    'aedes/lib/utils.js',
    'aedes/lib/qos-packet.js',
    'aedes-persistence/asyncPersistence.js',
    'aedes-persistence/callBackPersistence.js',
  ],
  'lean-parser': ['aedes/lib/client.js', 'mqtt-packet/parser.js', 'bl/BufferList.js'],
  'sys-events': ['aedes/aedes.js'],
};

/** The folder of each package as aedes resolves it (mqtt-packet's own bl for bl). */
function packageDir(pkg: string): string {
  const aedesEntry = fileURLToPath(import.meta.resolve('aedes'));
  if (pkg === 'aedes') return dirname(aedesEntry);
  const fromAedes = createRequire(aedesEntry);
  if (pkg === 'bl') return dirname(createRequire(fromAedes.resolve('mqtt-packet')).resolve('bl'));
  return dirname(fromAedes.resolve(pkg));
}

/** The installed file of a `<package>/<path>` entry. */
export function installedFile(entry: string): string {
  const [pkg, ...rest] = entry.split('/');
  return join(packageDir(pkg!), ...rest);
}

export function fileHash(entry: string): string {
  return createHash('sha256')
    .update(readFileSync(installedFile(entry)))
    .digest('hex')
    .slice(0, 16);
}

export function installedVersion(pkg: string): string {
  return (JSON.parse(readFileSync(join(packageDir(pkg), 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
}

/** Why each patch cannot be installed on what is installed (absent: it can). */
export function checkFollowed(followed: Followed = FOLLOWED): Map<Patch, string> {
  const problems = new Map<string, string>();
  const problemOf = (entry: string): string | undefined => {
    if (problems.has(entry)) return problems.get(entry) || undefined;
    const pkg = entry.split('/', 1)[0]!;
    let problem = '';
    try {
      const version = installedVersion(pkg);
      if (version !== followed.packages[pkg]) problem = `${pkg} ${version} is not ${followed.packages[pkg]}`;
      else if (fileHash(entry) !== followed.files[entry]) problem = `${entry} changed`;
    } catch (err) {
      problem = `${entry} not found (${(err as Error).message})`;
    }
    problems.set(entry, problem);
    return problem || undefined;
  };
  const failed = new Map<Patch, string>();
  for (const [patch, entries] of Object.entries(DEPENDS) as [Patch, readonly string[]][]) {
    for (const entry of entries) {
      const problem = problemOf(entry);
      if (problem) {
        failed.set(patch, problem);
        break;
      }
    }
  }
  return failed;
}
