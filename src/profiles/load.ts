import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import { JsonFileError, readJson as readJsonFile } from '../json.js';
import { compileProfile } from './compile.js';
import { modelsFileSchema, profileFileSchema } from './schema.js';
import type { CompiledProfile, ModelEntry, ProfileFile, ProfileRegistry } from './types.js';

/** A profile or models file is unreadable or invalid. The message names the file and the field path. */
export class ProfileLoadError extends Error {
  override readonly name = 'ProfileLoadError';
  readonly file: string;
  readonly field?: string;

  constructor(file: string, detail: string, field?: string) {
    super(field !== undefined && field !== '' ? `${file}: ${field}: ${detail}` : `${file}: ${detail}`);
    this.file = file;
    if (field !== undefined && field !== '') this.field = field;
  }
}

/** ["fields", "x", "values", 0] -> "fields.x.values[0]" */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function firstIssue(file: string, error: z.ZodError): ProfileLoadError {
  const issue = error.issues[0];
  if (issue === undefined) return new ProfileLoadError(file, 'invalid');
  if (issue.code === 'unrecognized_keys') {
    return new ProfileLoadError(file, 'unknown key', formatPath([...issue.path, issue.keys[0] ?? '']));
  }
  if (issue.code === 'invalid_key') {
    const inner = issue.issues[0]?.message ?? issue.message;
    return new ProfileLoadError(file, `invalid name: ${inner}`, formatPath(issue.path));
  }
  return new ProfileLoadError(file, issue.message, formatPath(issue.path));
}

function readJson(file: string): unknown {
  try {
    return readJsonFile(file);
  } catch (err) {
    throw err instanceof JsonFileError ? new ProfileLoadError(file, err.message) : err;
  }
}

/**
 * Reads every *.json in `dir`, validates it, compiles it once and returns a frozen registry.
 * The file name must equal the profile code. Throws ProfileLoadError on the first broken file.
 */
export function loadProfiles(dir: string): ProfileRegistry {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort();
  } catch (err) {
    throw new ProfileLoadError(dir, `cannot read directory: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const profiles = new Map<string, CompiledProfile>();
  for (const name of names) {
    const file = join(dir, name);
    const parsed = profileFileSchema.safeParse(readJson(file));
    if (!parsed.success) throw firstIssue(file, parsed.error);
    const expected = basename(name, '.json');
    if (parsed.data.code !== expected) {
      throw new ProfileLoadError(file, `"${parsed.data.code}" does not match the file name (expected "${expected}")`, 'code');
    }
    profiles.set(expected, compileProfile(parsed.data as ProfileFile));
  }
  const codes = Object.freeze([...profiles.keys()].sort());
  return Object.freeze({
    get: (code: string): CompiledProfile | undefined => profiles.get(code),
    codes,
  });
}

/**
 * Reads config/models.json: real model codes and their tracking profile (null = no tracking settings).
 * Returns those entries plus one entry per profile code mapping to itself, sorted by code, frozen.
 */
export function loadModels(file: string, profiles: ProfileRegistry): readonly ModelEntry[] {
  const parsed = modelsFileSchema.safeParse(readJson(file));
  if (!parsed.success) throw firstIssue(file, parsed.error);
  const entries = new Map<string, ModelEntry>();
  const profileCodes = new Set(profiles.codes);
  parsed.data.models.forEach((model, i) => {
    const at = (key: string): string => `models[${i}].${key}`;
    if (entries.has(model.code)) throw new ProfileLoadError(file, `duplicate model code "${model.code}"`, at('code'));
    if (model.tracking_profile !== null && profiles.get(model.tracking_profile) === undefined) {
      throw new ProfileLoadError(file, `unknown tracking profile "${model.tracking_profile}" (model "${model.code}")`, at('tracking_profile'));
    }
    if (profileCodes.has(model.code) && model.tracking_profile !== model.code) {
      throw new ProfileLoadError(file, `model "${model.code}" is a profile code, which maps to itself`, at('code'));
    }
    const entry: ModelEntry =
      model.name !== undefined
        ? { code: model.code, name: model.name, trackingProfile: model.tracking_profile }
        : { code: model.code, trackingProfile: model.tracking_profile };
    entries.set(model.code, Object.freeze(entry));
  });
  for (const code of profiles.codes) entries.set(code, Object.freeze({ code, trackingProfile: code }));
  const sorted = [...entries.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  return Object.freeze(sorted);
}
