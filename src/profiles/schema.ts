import { z } from 'zod';
import { describe, fieldSchema } from './compile.js';
import { FIELD_TYPES, FORMATS, ITEM_TYPES, UNITS } from './types.js';
import type { FieldDef, ProfileFile } from './types.js';

/** Profile and model codes: lowercase ASCII letters, digits and "_" (they are also file names). */
export const CODE_PATTERN = /^[a-z0-9][a-z0-9_]*$/;
const code = z.string().max(64).regex(CODE_PATTERN, 'must be lowercase letters, digits and _');
const fieldName = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'must be lowercase letters, digits and _, starting with a letter')
  .refine((name) => !(name in Object.prototype), 'is a reserved name');

const itemDef = z.strictObject({
  type: z.enum(ITEM_TYPES),
  format: z.enum(FORMATS).optional(),
});

/** True when `value` is accepted by the field as is (no numeric-string conversion). */
function acceptsExactly(def: Parameters<typeof fieldSchema>[0], value: unknown): boolean {
  try {
    const result = fieldSchema(def).safeParse(value);
    return result.success && JSON.stringify(result.data) === JSON.stringify(value);
  } catch {
    return false;
  }
}

const fieldDef = z
  .strictObject({
    type: z.enum(FIELD_TYPES),
    required: z.boolean(),
    unit: z.enum(UNITS).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    values: z
      .array(z.union([z.string().min(1).max(256), z.number()]))
      .min(1)
      .optional(),
    default: z.unknown().optional(),
    format: z.enum(FORMATS).optional(),
    required_if: z.strictObject({ field: fieldName, equals: z.union([z.string(), z.number(), z.boolean()]) }).optional(),
    items: itemDef.optional(),
    minItems: z.int().min(0).optional(),
    maxItems: z.int().min(1).optional(),
  })
  .superRefine((def, ctx) => {
    let bad = false;
    const fail = (key: string, message: string): void => {
      bad = true;
      ctx.addIssue({ code: 'custom', path: [key], message });
    };
    const numeric = def.type === 'integer' || def.type === 'number';
    for (const key of ['min', 'max'] as const) {
      const bound = def[key];
      if (bound === undefined) continue;
      if (!numeric) fail(key, `only integer and number fields may have ${key}`);
      else if (def.type === 'integer' && !Number.isSafeInteger(bound)) fail(key, `must be an integer for an integer field`);
    }
    if (def.min !== undefined && def.max !== undefined && def.min > def.max) fail('max', `is less than min (${def.min})`);
    if (def.type === 'enum' && def.values === undefined) fail('values', 'is required for an enum field');
    if (def.values !== undefined) {
      if (def.type === 'enum' && def.values.some((v) => typeof v !== 'string')) fail('values', 'must be strings for an enum field');
      else if (def.type === 'integer' && def.values.some((v) => !Number.isSafeInteger(v))) fail('values', 'must be integers for an integer field');
      else if (def.type === 'number' && def.values.some((v) => typeof v !== 'number')) fail('values', 'must be numbers for a number field');
      else if (!numeric && def.type !== 'enum') fail('values', `not allowed for a ${def.type} field`);
      else if (new Set(def.values).size !== def.values.length) fail('values', 'must not repeat a value');
      else if (def.values.some((v) => (def.min !== undefined && (v as number) < def.min) || (def.max !== undefined && (v as number) > def.max))) {
        fail('values', `must lie within min/max`);
      }
    }
    if (def.format !== undefined && def.type !== 'string') fail('format', 'only string fields may have a format');
    if (def.type === 'array' && def.items === undefined) fail('items', 'is required for an array field');
    if (def.type !== 'array') {
      for (const key of ['items', 'minItems', 'maxItems'] as const) if (def[key] !== undefined) fail(key, 'only array fields may have it');
    }
    if (def.items?.format !== undefined && def.items.type !== 'string') fail('items', 'only string items may have a format');
    if (def.minItems !== undefined && def.maxItems !== undefined && def.minItems > def.maxItems) fail('maxItems', `is less than minItems (${def.minItems})`);
    if (def.required_if !== undefined && def.required) fail('required_if', 'needs "required": false (the field is required only under the condition)');
    if (!bad && Object.hasOwn(def, 'default') && !acceptsExactly(def, def.default)) {
      fail('default', `${JSON.stringify(def.default) ?? 'undefined'} is not valid: the field ${describe(def)}`);
    }
  });

export const profileFileSchema = z
  .strictObject({
    code,
    models: z.array(z.string().min(1).max(200)),
    fields: z.record(fieldName, fieldDef),
    example: z.record(z.string(), z.unknown()),
  })
  .superRefine((file, ctx) => {
    for (const [name, def] of Object.entries(file.fields)) {
      const cond = def.required_if;
      if (cond === undefined) continue;
      const path = ['fields', name, 'required_if'];
      const target = file.fields[cond.field];
      if (cond.field === name) ctx.addIssue({ code: 'custom', path: [...path, 'field'], message: 'must name another field' });
      else if (target === undefined) ctx.addIssue({ code: 'custom', path: [...path, 'field'], message: `names unknown field "${cond.field}"` });
      else if (fieldDef.safeParse(target).success && !acceptsExactly(target, cond.equals)) {
        ctx.addIssue({ code: 'custom', path: [...path, 'equals'], message: `is not a valid value of ${cond.field}: it ${describe(target)}` });
      }
    }
  });

export const modelsFileSchema = z.strictObject({
  models: z.array(
    z.strictObject({
      code,
      name: z.string().min(1).max(200).optional(),
      tracking_profile: code.nullable(),
      note: z.string().optional(),
    }),
  ),
  /** Model names of the reference that produce no entry, with the reason (informational). */
  skipped: z.array(z.strictObject({ code, name: z.string(), listed_in: z.array(code), note: z.string() })).optional(),
});

// compile-time check: what the schema accepts is a ProfileFile
const _isProfileFile = (parsed: z.infer<typeof profileFileSchema>): ProfileFile => parsed;
const _isFieldDef = (parsed: z.infer<typeof fieldDef>): FieldDef => parsed;
void _isProfileFile;
void _isFieldDef;
