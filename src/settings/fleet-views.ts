import type { CompiledProfile, Settings } from '../profiles/index.js';

/** `changes` of history and dry runs: per field `{old?, new}`, `old` absent for a field that is new. */
export type Changes = Record<string, { old?: unknown; new?: unknown }>;

const same = (a: unknown, b: unknown): boolean => a === b || JSON.stringify(a) === JSON.stringify(b);

/**
 * What `next` changes compared with `previous` (undefined: there is none, every field is new), in
 * `next`'s field order. A field `next` no longer has (a revert to settings from before it existed)
 * is listed last with `old` only (docs/api.md#changes).
 */
export function changesBetween(previous: Settings | undefined, next: Settings): Changes {
  const changes: Changes = {};
  for (const [field, value] of Object.entries(next)) {
    if (previous === undefined || !Object.hasOwn(previous, field)) changes[field] = { new: value };
    else if (!same(previous[field], value)) changes[field] = { old: previous[field], new: value };
  }
  if (previous !== undefined) {
    for (const [field, value] of Object.entries(previous)) if (!Object.hasOwn(next, field)) changes[field] = { old: value };
  }
  return changes;
}

/** tracker/settings/tracking/profile's `value`: the profile's fields in its order, as a form needs them. */
export function profileView(profile: CompiledProfile) {
  return {
    profile: profile.code,
    fields: Object.entries(profile.fields).map(([name, def]) => ({
      name,
      type: def.type,
      required: def.required,
      ...(def.min !== undefined && { min: def.min }),
      ...(def.max !== undefined && { max: def.max }),
      ...(def.values !== undefined && { values: def.values }),
      ...(def.format !== undefined && { format: def.format }),
      ...(def.items !== undefined && { items: def.items }),
      ...(def.minItems !== undefined && { minItems: def.minItems }),
      ...(def.maxItems !== undefined && { maxItems: def.maxItems }),
      ...(Object.hasOwn(def, 'default') && { default: def.default }),
      ...(def.unit !== undefined && { unit: def.unit }),
      ...(def.required_if !== undefined && { required_if: def.required_if }),
    })),
  };
}
