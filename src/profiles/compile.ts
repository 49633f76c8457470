import { z } from 'zod';
import type { CompiledProfile, FieldDef, FieldError, Format, ItemDef, ProfileFile, Settings, ValidationResult } from './types.js';
import { deepFreeze, isObject } from '../json.js';

/** Longest string value accepted anywhere (hostile input must not grow storage). */
export const MAX_STRING_LENGTH = 256;
/** Longest array accepted when a field declares no maxItems. */
export const MAX_ARRAY_ITEMS = 256;

const INTEGER_TEXT = /^-?\d+$/;
const NUMBER_TEXT = /^-?\d+(\.\d+)?$/;
const HOUR = '([01]\\d|2[0-3])';
const MINSEC = '[0-5]\\d';

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function isRealDate(text: string): boolean {
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  const days = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return year >= 1 && days !== undefined && day >= 1 && day <= days;
}

interface FormatRule {
  readonly pattern: RegExp;
  readonly hint: string;
  readonly check?: (text: string) => boolean;
}

const FORMAT_RULES: Readonly<Record<Format, FormatRule>> = {
  'HH:mm': { pattern: new RegExp(`^${HOUR}:${MINSEC}$`), hint: 'HH:mm (00:00-23:59)' },
  'HH:mm:ss': { pattern: new RegExp(`^${HOUR}:${MINSEC}:${MINSEC}$`), hint: 'HH:mm:ss (00:00:00-23:59:59)' },
  HHMM: { pattern: new RegExp(`^${HOUR}${MINSEC}$`), hint: 'HHMM (0000-2359)' },
  'yyyy-MM-dd HH:mm:ss': {
    pattern: new RegExp(`^\\d{4}-\\d{2}-\\d{2} ${HOUR}:${MINSEC}:${MINSEC}$`),
    hint: 'yyyy-MM-dd HH:mm:ss (a real date and time)',
    check: isRealDate,
  },
};

type ValueDef = Pick<FieldDef, 'type' | 'min' | 'max' | 'values' | 'format' | 'items' | 'minItems' | 'maxItems'>;

const list = (values: readonly (string | number)[]): string => values.map(String).join(', ');

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` of at least ${min}`;
  if (max !== undefined) return ` of at most ${max}`;
  return '';
}

/** The human-readable rule of a field (or array item), used as its error message. */
export function describe(def: ValueDef): string {
  switch (def.type) {
    case 'integer':
    case 'number':
      if (def.values !== undefined) return `must be one of: ${list(def.values)}`;
      return `must be ${def.type === 'integer' ? 'an integer' : 'a number'}${rangeText(def.min, def.max)}`;
    case 'string':
      return def.format !== undefined ? `must match ${FORMAT_RULES[def.format].hint}` : `must be a string of at most ${MAX_STRING_LENGTH} characters`;
    case 'boolean':
      return 'must be true or false';
    case 'enum':
      return `must be one of: ${list(def.values ?? [])}`;
    case 'array': {
      const min = def.minItems,
        max = def.maxItems ?? MAX_ARRAY_ITEMS;
      const count = min !== undefined && min > 0 ? `${min} to ${max}` : `at most ${max}`;
      return `must be a list of ${count} items${def.items !== undefined ? `; each item ${describe(def.items)}` : ''}`;
    }
  }
}

function numericSchema(def: ValueDef, integer: boolean): z.ZodType<number> {
  const text = z
    .string()
    .max(32)
    .regex(integer ? INTEGER_TEXT : NUMBER_TEXT)
    .transform(Number);
  let checked = integer ? z.int() : z.number(); // zod 4 rejects NaN and ±Infinity; z.int() only safe integers
  if (def.min !== undefined) checked = checked.min(def.min);
  if (def.max !== undefined) checked = checked.max(def.max);
  const allowed = def.values !== undefined ? new Set<unknown>(def.values) : undefined;
  return z
    .union([z.number(), text])
    .pipe(checked)
    .transform((n) => (n === 0 ? 0 : n)) // -0 -> 0
    .refine((n) => allowed === undefined || allowed.has(n));
}

/** Zod schema of one field's value on its own (no required/required_if), normalizing numeric strings. */
export function fieldSchema(def: ValueDef): z.ZodType {
  switch (def.type) {
    case 'integer':
      return numericSchema(def, true);
    case 'number':
      return numericSchema(def, false);
    case 'boolean':
      return z.boolean();
    case 'enum': {
      const allowed = new Set<unknown>(def.values ?? []);
      return z.string().refine((s) => allowed.has(s));
    }
    case 'string': {
      const base = z.string().max(MAX_STRING_LENGTH);
      if (def.format === undefined) return base;
      const rule = FORMAT_RULES[def.format];
      return base.regex(rule.pattern).refine((s) => rule.check === undefined || rule.check(s));
    }
    case 'array': {
      const item = def.items !== undefined ? fieldSchema(def.items) : z.never();
      return z
        .array(item)
        .min(def.minItems ?? 0)
        .max(def.maxItems ?? MAX_ARRAY_ITEMS);
    }
  }
}

const present = (o: Record<string, unknown>, key: string): boolean => Object.hasOwn(o, key) && o[key] !== undefined;

/** Compiles a (schema-validated) profile file once; the result is frozen and reusable. */
export function compileProfile(file: ProfileFile): CompiledProfile {
  const fields = deepFreeze(structuredClone(file.fields) as Record<string, FieldDef>);
  const order = Object.keys(fields);
  const schemas = new Map<string, z.ZodType>();
  const messages = new Map<string, string>();
  const itemMessages = new Map<string, string>();
  const shape: Record<string, z.ZodType> = {};
  const defaults: Record<string, unknown> = {};
  for (const name of order) {
    const def = fields[name] as FieldDef;
    const schema = fieldSchema(def);
    schemas.set(name, schema);
    messages.set(name, describe(def));
    if (def.items !== undefined) itemMessages.set(name, describe(def.items as ItemDef));
    shape[name] = def.required ? schema : schema.optional();
    if (Object.hasOwn(def, 'default')) defaults[name] = def.default;
  }
  const objectSchema = z.strictObject(shape);
  const conditions = order.flatMap((name) => {
    const cond = fields[name]?.required_if;
    return cond !== undefined ? [{ name, cond }] : [];
  });

  function normalized(settings: Record<string, unknown>, name: string): unknown {
    const result = schemas.get(name)?.safeParse(settings[name]);
    return result?.success ? result.data : settings[name];
  }

  function validate(settings: Readonly<Record<string, unknown>>): ValidationResult {
    if (!isObject(settings)) return { ok: false, errors: [{ field: '', error: 'must be an object' }] };
    const found = new Map<string, string>();
    const result = objectSchema.safeParse(settings);
    for (const issue of result.success ? [] : result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) if (!found.has(key)) found.set(key, 'is not a parameter of this tracking profile');
        continue;
      }
      const [key, index] = issue.path;
      if (typeof key !== 'string' || found.has(key)) continue;
      if (!present(settings, key)) found.set(key, 'is required');
      else if (typeof index === 'number') found.set(key, `item ${index + 1} ${itemMessages.get(key) ?? 'is invalid'}`);
      else found.set(key, messages.get(key) ?? 'is invalid');
    }
    for (const { name, cond } of conditions) {
      if (!found.has(name) && !present(settings, name) && normalized(settings, cond.field) === cond.equals) {
        found.set(name, `is required when ${cond.field} is ${String(cond.equals)}`);
      }
    }
    if (found.size > 0 || !result.success) {
      const rank = (f: string): number => (schemas.has(f) ? order.indexOf(f) : order.length);
      const errors: FieldError[] = [...found].map(([field, error]) => ({ field, error }));
      errors.sort((a, b) => rank(a.field) - rank(b.field)); // stable: unknown keys keep input order
      return { ok: false, errors: Object.freeze(errors.map((e) => Object.freeze(e))) };
    }
    const value = Object.fromEntries(Object.entries(result.data).filter(([, v]) => v !== undefined));
    return { ok: true, value: deepFreeze(value) };
  }

  function sanitize(settings: Readonly<Record<string, unknown>>): Settings {
    const kept: Record<string, unknown> = {};
    try {
      if (!isObject(settings)) return Object.freeze(kept);
      for (const name of order) {
        if (!present(settings, name)) continue;
        const result = schemas.get(name)?.safeParse(settings[name]);
        if (result?.success) kept[name] = result.data;
      }
    } catch {
      // hostile input (throwing getters, proxies): keep what was collected so far
    }
    return deepFreeze(kept);
  }

  return Object.freeze({
    code: file.code,
    fields,
    example: deepFreeze(structuredClone(file.example) as Record<string, unknown>),
    defaults: deepFreeze(structuredClone(defaults)),
    validate,
    sanitize,
  });
}
