import { z } from 'zod';
import { invalidParameters, type ParameterError } from '../errors.js';

/** A positive id as a JSON number or a plain decimal string ("123456", as Navixy's examples send it). */
const id = z.union([
  z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  z
    .string()
    .regex(/^[0-9]{1,15}$/, 'must be a positive integer')
    .transform(Number)
    .pipe(z.number().int().positive()),
], { error: 'must be a positive integer' });

type Json = Record<string, unknown>;

/** An object parameter: a JSON object, or (GET and form requests) JSON text of one. */
const jsonObject = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
);

const text = (max: number) => z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(max);

export const paramSchemas = {
  auth: z.object({ login: text(256), password: text(1024) }),
  tracker: z.object({ tracker_id: id }),
  update: z.object({ tracker_id: id, tracking_settings: jsonObject }),
} as const;

/** Parses a call's parameters or throws 7 naming each bad parameter. */
export function parseParams<S extends z.ZodType>(schema: S, params: Json): z.output<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const errors: ParameterError[] = result.error.issues.map((issue) => ({
    parameter: issue.path.map(String).join('.') || 'params',
    error: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
  }));
  throw invalidParameters(errors);
}
