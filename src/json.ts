import { readFileSync } from 'node:fs';

/** A JSON object as parsed: string keys, values not yet checked. */
export type Json = Record<string, unknown>;

/** A plain JSON object: not null, not an array (what every body, file and settings object must be). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `over` merged into `base`: nested objects merge, anything else (arrays too) replaces. */
export function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/** Freezes `value` and everything inside it (objects and arrays); returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** A JSON file that cannot be read or parsed; `message` says which (callers prefix the file). */
export class JsonFileError extends Error {
  override name = 'JsonFileError';
}

/** Reads and parses a JSON file: throws JsonFileError "cannot be read (ENOENT)" / "not valid JSON (…)". */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JsonFileError(`cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new JsonFileError(`not valid JSON (${(err as Error).message})`);
  }
}
