import { z } from 'zod';
import { invalidParameters, type ParameterError } from '../errors.js';
import type { Json } from '../json.js';

const POSITIVE_ID = { error: 'must be a positive integer' };

/** A positive id as a JSON number or a plain decimal string ("123456", as Navixy's examples send it). */
const id = z.preprocess(
  (value) => (typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : value),
  z.number(POSITIVE_ID).int(POSITIVE_ID).positive(POSITIVE_ID).max(Number.MAX_SAFE_INTEGER, POSITIVE_ID),
);

/** An object parameter: a JSON object, or (GET and form requests) JSON text of one. */
const jsonObject = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      // A `__proto__` key would be dropped by the object copy below: refuse the text instead.
      return JSON.parse(value, (key, inner: unknown) => {
        if (key === '__proto__') throw new Error('__proto__ key');
        return inner;
      }) as unknown;
    } catch {
      return value;
    }
  },
  z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
);

const LABELS_ERROR = 'must be a list of 1 to 1024 strings of 1 to 256 characters (JSON text in GET and form requests)';
const labelList = z.array(z.string().min(1).max(256)).min(1).max(1024);

/** tracker/list's `labels`: a JSON array of strings, or (GET and form requests) JSON text of one; 7 names `labels`. */
const labels = z.preprocess(
  (value) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  },
  z.custom<string[]>((value) => labelList.safeParse(value).success, { error: LABELS_ERROR }),
);

const text = (max: number) =>
  z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const paramSchemas = {
  auth: z.object({ login: text(256), password: text(1024) }),
  tracker: z.object({ tracker_id: id }),
  update: z.object({ tracker_id: id, tracking_settings: jsonObject }),
  trackerList: z.object({ labels: labels.optional() }),
} as const;

/** Parses a call's parameters or throws 7 naming each bad parameter. */
export function parseParams<S extends z.ZodType>(schema: S, params: Json): z.output<S> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const errors: ParameterError[] = result.error.issues.map((issue) => {
    const name = issue.path.map(String).join('.');
    const missing = issue.path.length === 1 && params[String(issue.path[0])] === undefined;
    return { parameter: name || 'params', error: missing ? 'is required' : issue.message };
  });
  throw invalidParameters(errors);
}

/**
 * `tracker_id` as `parseParams(paramSchemas.tracker, …)` gives it, without running zod for the
 * usual JSON number (the settings read's hot path): a positive safe integer passes that schema
 * unchanged; anything else goes through it for the same answer and the same errors.
 */
export function trackerIdOf(params: Json): number {
  const id = params.tracker_id;
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return id;
  return parseParams(paramSchemas.tracker, params).tracker_id;
}
