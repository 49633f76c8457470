import { z } from 'zod';
import { ApiError, invalidParameters, type ParameterError } from '../errors.js';
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

/** JSON text (GET and form requests) of an array or object; anything else is left for the schema to refuse. */
function jsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

const LABELS_ERROR = 'must be a list of 1 to 1024 strings of 1 to 256 characters (JSON text in GET and form requests)';
const labelList = z.array(z.string().min(1).max(256)).min(1).max(1024);

/** tracker/list's `labels`: a JSON array of strings, or (GET and form requests) JSON text of one; 7 names `labels`. */
const labels = z.preprocess(
  jsonText,
  z.custom<string[]>((value) => labelList.safeParse(value).success, { error: LABELS_ERROR }),
);

/** A non-negative integer (a version number; 0 = none yet), as a JSON number or a plain decimal string. */
const count = z.preprocess(
  (value) => (typeof value === 'string' && /^[0-9]{1,15}$/.test(value) ? Number(value) : value),
  z
    .number({ error: 'must be a non-negative integer' })
    .int('must be a non-negative integer')
    .min(0, 'must be a non-negative integer')
    .max(Number.MAX_SAFE_INTEGER, 'must be a non-negative integer'),
);

/** `dry_run`: JSON `true`/`false`, or `"true"`/`"false"`/`1`/`0` as GET and form requests send it. */
const flag = z.preprocess(
  (value) => (value === 'true' || value === '1' || value === 1 ? true : value === 'false' || value === '0' || value === 0 ? false : value),
  z.boolean({ error: 'must be true or false' }),
);

/** `request_id`: 1–64 printable ASCII characters. */
const requestId = z.string({ error: 'must be a string' }).regex(/^[\x20-\x7e]{1,64}$/, 'must be 1 to 64 printable characters');

/** A list of tracker ids: a JSON array, or (GET and form requests) JSON text of one. */
const trackerIds = z.preprocess(
  jsonText,
  z.array(id, { error: 'must be a list of tracker ids' }).min(1, 'must hold 1 to 10000 tracker ids').max(10_000, 'must hold 1 to 10000 tracker ids'),
);

const text = (max: number) => z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(max, `must be at most ${max} characters`);

export const paramSchemas = {
  auth: z.object({ login: text(256), password: text(1024) }),
  tracker: z.object({ tracker_id: id }),
  update: z.object({ tracker_id: id, tracking_settings: jsonObject }),
  trackerList: z.object({ labels: labels.optional() }),
  /** update's optional parameters, parsed only when one of them is sent (the plain update stays as cheap). */
  updateOptions: z.object({ expected_version: count.optional(), request_id: requestId.optional(), dry_run: flag.optional() }),
  history: z.object({
    tracker_id: id,
    limit: z
      .preprocess(
        (value) => (typeof value === 'string' && /^[0-9]{1,4}$/.test(value) ? Number(value) : value),
        z
          .number({ error: 'must be an integer from 1 to 1000' })
          .int('must be an integer from 1 to 1000')
          .min(1, 'must be an integer from 1 to 1000')
          .max(1000, 'must be an integer from 1 to 1000'),
      )
      .default(50),
    before_version: id.optional(),
  }),
  revert: z.object({ tracker_id: id, version: id, expected_version: count.optional() }),
  bulkUpdate: z.object({
    tracker_ids: trackerIds.optional(),
    model: text(200).optional(),
    group_id: count.optional(),
    tracking_settings: jsonObject,
    dry_run: flag.optional(),
    request_id: requestId.optional(),
  }),
  syncSummary: z.object({ tracker_ids: trackerIds.optional(), all: flag.optional() }),
} as const;

const UPDATE_OPTIONS = ['expected_version', 'request_id', 'dry_run'] as const;

/** update's parameters; the options only when one is present. */
export function updateParams(params: Json) {
  const { tracker_id, tracking_settings } = parseParams(paramSchemas.update, params);
  if (!UPDATE_OPTIONS.some((name) => params[name] !== undefined)) return { trackerId: tracker_id, patch: tracking_settings };
  const options = parseParams(paramSchemas.updateOptions, params);
  return {
    trackerId: tracker_id,
    patch: tracking_settings,
    expectedVersion: options.expected_version,
    requestId: options.request_id,
    dryRun: options.dry_run,
  };
}

/** bulk_update's parameters: exactly one selector, else 7 naming `tracker_ids`. */
export function bulkUpdateParams(params: Json) {
  const selectors = ['tracker_ids', 'model', 'group_id'].filter((name) => params[name] !== undefined);
  const selectorErrors: ParameterError[] =
    selectors.length === 1 ? [] : [{ parameter: 'tracker_ids', error: 'exactly one of tracker_ids, model and group_id is required' }];
  let parsed: z.output<typeof paramSchemas.bulkUpdate>;
  try {
    parsed = parseParams(paramSchemas.bulkUpdate, params);
  } catch (err) {
    if (!(err instanceof ApiError) || selectorErrors.length === 0) throw err;
    throw invalidParameters([...selectorErrors, ...(err.errors ?? []).filter((e) => !selectors.includes(e.parameter.split('.')[0]!))]);
  }
  if (selectorErrors.length > 0) throw invalidParameters(selectorErrors);
  const selector =
    parsed.tracker_ids !== undefined
      ? { trackerIds: parsed.tracker_ids }
      : parsed.model !== undefined
        ? { model: parsed.model }
        : { groupId: parsed.group_id! };
  return { selector, patch: parsed.tracking_settings, requestId: parsed.request_id, dryRun: parsed.dry_run };
}

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
