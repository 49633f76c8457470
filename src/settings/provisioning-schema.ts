import { z } from 'zod';
import { TOKEN_PATTERN } from '../auth/crypto.js';
import { isObject } from '../json.js';

/**
 * The provisioning file of `trackconf import` (docs/provisioning.md). Only the shape of each entry is checked
 * here; references between entries and to the database are checked by provisioning-plan.ts.
 */

export const MODEL_CODE_PATTERN = /^[a-z0-9_]{1,64}$/;
/** A device id becomes an MQTT topic level and a client id: no `/`, `+`, `#`, no spaces. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const RIGHT_PATTERN = /^[a-z_]{1,64}$/;
/** A group's colour as Navixy writes it: 6 hex digits, no `#`. */
export const COLOR_PATTERN = /^[0-9A-Fa-f]{6}$/;
/** The colour of a group whose entry gives none. */
export const DEFAULT_GROUP_COLOR = '1E96DC';
/** A SIM phone number: digits, optionally after a `+`. */
export const PHONE_PATTERN = /^\+?[0-9]{3,20}$/;

/** "is required" when missing, else `expected`. */
const needs = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : expected),
});

const login = z
  .string(needs('must be a string'))
  .min(1, { error: 'must not be empty' })
  .max(254, { error: 'must be at most 254 characters' })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  .regex(/^[^\s\u0000-\u001f]+$/, { error: 'must not contain spaces or control characters' });

const password = z.string(needs('must be a string')).min(1, { error: 'must not be empty' }).max(1024, { error: 'must be at most 1024 characters' });

const apiKey = z.string({ error: 'must be a string' }).regex(TOKEN_PATTERN, { error: 'must be 32 lowercase hex characters' });

const trackerId = z
  .number(needs('must be a number'))
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be a positive whole number' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'is too large' });

const modelSchema = z.strictObject({
  code: z.string(needs('must be a string')).regex(MODEL_CODE_PATTERN, {
    error: 'must be 1 to 64 characters a-z, 0-9 or _',
  }),
  tracking_profile: z.string(needs('must be a profile code or null')).nullable(),
});

const userSchema = z.strictObject({
  login,
  password,
  api_keys: z.array(apiKey, { error: 'must be a list of API keys' }).optional(),
});

const subuserSchema = z.strictObject({
  login,
  password,
  master: login,
  rights: z
    .array(z.string({ error: 'must be a string' }).regex(RIGHT_PATTERN, { error: 'must be 1 to 64 characters a-z or _' }), {
      error: 'must be a list of rights',
    })
    .optional(),
  trackers: z.array(trackerId, { error: 'must be a list of tracker ids' }).optional(),
});

const groupSchema = z.strictObject({
  id: trackerId,
  owner: login,
  title: z.string(needs('must be a string')).min(1, { error: 'must not be empty' }).max(256, { error: 'must be at most 256 characters' }),
  color: z.string({ error: 'must be 6 hex digits (e.g. 1E96DC) as a string' }).regex(COLOR_PATTERN, { error: 'must be 6 hex digits (e.g. 1E96DC)' }).optional(),
});

const trackerSchema = z
  .strictObject({
    id: trackerId.optional(),
    owner: login,
    label: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(256, { error: 'must be at most 256 characters' }).optional(),
    model: z
      .string({ error: 'must be a string' })
      .regex(MODEL_CODE_PATTERN, {
        error: 'must be 1 to 64 characters a-z, 0-9 or _',
      })
      .optional(),
    device_id: z
      .string({ error: 'must be a string' })
      .regex(DEVICE_ID_PATTERN, { error: 'must be 1 to 64 characters A-Z, a-z, 0-9, _ . : or - (no / + # or spaces)' })
      .optional(),
    device_secret: z
      .string({ error: 'must be a string' })
      .min(8, { error: 'must be at least 8 characters' })
      .max(256, { error: 'must be at most 256 characters' })
      .optional(),
    blocked: z.boolean({ error: 'must be true or false' }).optional(),
    clone_of: trackerId.optional(),
    /** 0 or null: no group. */
    group_id: z
      .number({ error: 'must be a group id, 0 or null' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be a group id, 0 or null' })
      .max(Number.MAX_SAFE_INTEGER, { error: 'is too large' })
      .nullable()
      .optional(),
    phone: z
      .string({ error: 'must be a string or null' })
      .regex(PHONE_PATTERN, { error: 'must be 3 to 20 digits, optionally after a +' })
      .nullable()
      .optional(),
  })
  .superRefine((tracker, ctx) => {
    if (tracker.clone_of !== undefined) {
      const deviceFields = (['model', 'device_id', 'device_secret', 'blocked', 'phone'] as const).filter((f) => tracker[f] !== undefined);
      if (deviceFields.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `a clone (clone_of) shares its target's device and takes no ${deviceFields.join(', ')}`,
        });
      }
      return;
    }
    if (tracker.model === undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: 'is required (or clone_of)' });
    if (tracker.device_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['device_id'], message: 'is required (or clone_of)' });
    }
  });

export const provisioningFileSchema = z.strictObject(
  {
    models: z.array(modelSchema, { error: 'must be a list' }).optional(),
    users: z.array(userSchema, { error: 'must be a list' }).optional(),
    subusers: z.array(subuserSchema, { error: 'must be a list' }).optional(),
    groups: z.array(groupSchema, { error: 'must be a list' }).optional(),
    trackers: z.array(trackerSchema, { error: 'must be a list' }).optional(),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'the provisioning file must hold a JSON object' : undefined) },
);

export type ProvisioningFile = z.infer<typeof provisioningFileSchema>;
export type ModelEntry = z.infer<typeof modelSchema>;
export type UserEntry = z.infer<typeof userSchema>;
export type SubuserEntry = z.infer<typeof subuserSchema>;
export type TrackerEntry = z.infer<typeof trackerSchema>;
export type GroupEntry = z.infer<typeof groupSchema>;

const ENTRY_SCHEMAS = { models: modelSchema, users: userSchema, subusers: subuserSchema, groups: groupSchema, trackers: trackerSchema } as const;

/**
 * The entries of a file that failed the shape check which pass it on their own, each at its own
 * index; the others are holes (skipped by forEach and map), so problems still name `section[index]`.
 * The cross-reference checks run on these, and a file is reported whole in one run.
 */
export function wellFormedEntries(input: unknown): ProvisioningFile {
  const file: Record<string, unknown[]> = {};
  if (!isObject(input)) return file;
  for (const [section, schema] of Object.entries(ENTRY_SCHEMAS)) {
    const list = input[section];
    if (!Array.isArray(list)) continue;
    const kept: unknown[] = new Array(list.length);
    list.forEach((raw, i) => {
      const entry = schema.safeParse(raw);
      if (entry.success) kept[i] = entry.data;
    });
    file[section] = kept;
  }
  return file as ProvisioningFile;
}

/**
 * What the entries of the raw file name, well-formed or not: a reference to an entry refused for
 * its shape is not a second problem.
 */
export interface NamedInFile {
  readonly userLogins: readonly string[];
  readonly subuserLogins: readonly string[];
  readonly modelCodes: ReadonlySet<string>;
  readonly trackerIds: ReadonlySet<number>;
}

export function namedInFile(input: unknown): NamedInFile {
  const field = (section: string, name: string): unknown[] => {
    const list = isObject(input) ? input[section] : undefined;
    return Array.isArray(list) ? list.map((entry) => (isObject(entry) ? entry[name] : undefined)) : [];
  };
  const strings = (values: unknown[]) => values.filter((v): v is string => typeof v === 'string');
  return {
    userLogins: strings(field('users', 'login')),
    subuserLogins: strings(field('subusers', 'login')),
    modelCodes: new Set(strings(field('models', 'code'))),
    trackerIds: new Set(field('trackers', 'id').filter((v): v is number => typeof v === 'number')),
  };
}

/** How an entry is named in messages: `trackers[1] (id 1002)`, `users[0] (alice@example.com)`. */
export function entryName(section: string, index: number, raw: unknown): string {
  const base = `${section}[${index}]`;
  if (typeof raw !== 'object' || raw === null) return base;
  const entry = raw as Record<string, unknown>;
  const show = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  let what: string | undefined;
  if (section === 'models') what = show(entry.code);
  else if (section === 'users' || section === 'subusers') what = show(entry.login);
  else if (section === 'groups') what = show(entry.id) === undefined ? undefined : `id ${show(entry.id)!}`;
  else if (section === 'trackers') {
    const id = show(entry.id);
    const deviceId = show(entry.device_id);
    what = id !== undefined ? `id ${id}` : deviceId !== undefined ? `device_id ${deviceId}` : undefined;
  }
  return what === undefined ? base : `${base} (${what})`;
}

/** zod issues → one readable line each, naming the entry: `trackers[1] (id 1002): device_id: must …`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const message =
      issue.code !== 'unrecognized_keys'
        ? issue.message
        : issue.path.length === 0
          ? `unknown section${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} ` +
            '(expected models, users, subusers, groups, trackers)'
          : `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    const [section, index, ...rest] = issue.path;
    if (typeof section !== 'string' || typeof index !== 'number') {
      const where = issue.path.map(String).join('.');
      return where ? `${where}: ${message}` : message;
    }
    const raw = (input as Record<string, unknown[] | undefined>)[section]?.[index];
    const field = rest
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    return `${entryName(section, index, raw)}: ${field ? `${field} ` : ''}${message}`;
  });
}
