/** A JSON object as parsed: string keys, values not yet checked. */
export type Json = Record<string, unknown>;

/** A plain JSON object: not null, not an array (what every body, file and settings object must be). */
export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
