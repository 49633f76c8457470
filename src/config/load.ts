import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { deepFreeze, deepMerge, isObject, JsonFileError, readJson, type Json } from '../json.js';

/** The package root: config/ and the profiles live there, whether we run from src/ or dist/src/. */
export const packageRoot = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  let dir = start;
  while (!existsSync(resolve(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
  return dir;
}

/** A configuration the process must not start with; the CLI prints `message` and exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variable → path in the config object, and how to read its text. */
const ENV_MAP: ReadonlyArray<readonly [string, readonly string[], 'string' | 'int']> = [
  ['TRACKCONF_DB', ['db'], 'string'],
  ['TRACKCONF_HTTP_HOST', ['http', 'host'], 'string'],
  ['TRACKCONF_HTTP_PORT', ['http', 'port'], 'int'],
  ['TRACKCONF_CORS_ORIGINS', ['http', 'corsOrigins'], 'string'],
  ['TRACKCONF_MQTT_HOST', ['mqtt', 'host'], 'string'],
  ['TRACKCONF_MQTT_PORT', ['mqtt', 'port'], 'int'],
  ['TRACKCONF_MQTT_WS_PORT', ['mqtt', 'wsPort'], 'int'],
  ['TRACKCONF_TLS_CERT', ['tls', 'cert'], 'string'],
  ['TRACKCONF_TLS_KEY', ['tls', 'key'], 'string'],
  ['TRACKCONF_MQTTS_PORT', ['tls', 'mqttsPort'], 'int'],
  ['TRACKCONF_HTTPS_PORT', ['tls', 'httpsPort'], 'int'],
  ['TRACKCONF_RATE_LIMIT', ['rateLimit', 'perCredential'], 'int'],
  ['TRACKCONF_RATE_LIMIT_PER_ADDRESS', ['rateLimit', 'perAddress'], 'int'],
  ['TRACKCONF_LOG_LEVEL', ['logLevel'], 'string'],
  ['TRACKCONF_METRICS_TOKEN', ['metrics', 'token'], 'string'],
  ['TRACKCONF_NODE_ID', ['nodeId'], 'string'],
  ['TRACKCONF_DATABASE_URL', ['databaseUrl'], 'string'],
  ['TRACKCONF_REDIS_URL', ['redisUrl'], 'string'],
];

function readObject(file: string, what: string): Json {
  let parsed: unknown;
  try {
    parsed = readJson(file);
  } catch (err) {
    if (err instanceof JsonFileError) throw new ConfigError(`${what} ${file}: ${err.message}`);
    throw err;
  }
  if (!isObject(parsed)) throw new ConfigError(`${what} ${file}: must hold a JSON object`);
  return parsed;
}

function fromEnv(env: Env): Json {
  let out: Json = {};
  for (const [name, path, kind] of ENV_MAP) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    let value: unknown = text;
    if (kind === 'int') {
      if (!/^\d+$/.test(text.trim())) throw new ConfigError(`${name}=${JSON.stringify(text)}: must be a whole number`);
      value = Number(text.trim());
    }
    const patch = path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Json;
    out = deepMerge(out, patch);
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * Defaults (config/default.json) ← the file named in TRACKCONF_CONFIG ← TRACKCONF_* variables.
 * Relative paths of data files resolve against the package root; the database against the cwd.
 */
export function loadConfig(env: Env = process.env, overrides: Json = {}): Readonly<Config> {
  let merged = readObject(resolve(packageRoot, 'config', 'default.json'), 'default configuration');
  const file = env.TRACKCONF_CONFIG;
  if (file) merged = deepMerge(merged, readObject(resolve(file), 'TRACKCONF_CONFIG'));
  merged = deepMerge(deepMerge(merged, fromEnv(env)), overrides);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    throw new ConfigError(`invalid configuration: ${result.error.issues.map(describeIssue).join('; ')}`);
  }
  const config = result.data;
  const fromRoot = (p: string) => (isAbsolute(p) ? p : resolve(packageRoot, p));
  return deepFreeze({ ...config, profilesDir: fromRoot(config.profilesDir), modelsFile: fromRoot(config.modelsFile) });
}
