/** Vocabulary of a tracking-profile file (config/profiles/<code>.json). */
export const FIELD_TYPES = ['integer', 'number', 'string', 'boolean', 'enum', 'array'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Types an array field's items may have. */
export const ITEM_TYPES = ['integer', 'number', 'string', 'boolean'] as const;
export type ItemType = (typeof ITEM_TYPES)[number];

/** Date/time patterns (Java notation, as in the Navixy docs); anything else is a load error. */
export const FORMATS = ['HH:mm', 'HH:mm:ss', 'HHMM', 'yyyy-MM-dd HH:mm:ss'] as const;
export type Format = (typeof FORMATS)[number];

/** Units used by the reference (informational only; never used for conversion). */
export const UNITS = ['s', 'min', 'h', 'm', 'km', 'mi', 'deg', 'km/h', 'g'] as const;
export type Unit = (typeof UNITS)[number];

export interface ItemDef {
  readonly type: ItemType;
  readonly format?: Format | undefined;
}

export interface RequiredIf {
  readonly field: string;
  readonly equals: string | number | boolean;
}

/** One field fact of a profile, exactly as stored in the profile file. */
export interface FieldDef {
  readonly type: FieldType;
  readonly required: boolean;
  readonly unit?: Unit | undefined;
  /** Inclusive bounds (integer and number fields). */
  readonly min?: number | undefined;
  readonly max?: number | undefined;
  /** Allowed set: numbers for integer/number fields, strings for enum fields. */
  readonly values?: readonly (string | number)[] | undefined;
  readonly default?: unknown;
  /** String fields only. */
  readonly format?: Format | undefined;
  /** Required when settings[field] === equals (the field itself is then `required: false`). */
  readonly required_if?: RequiredIf | undefined;
  /** Array fields only. */
  readonly items?: ItemDef | undefined;
  readonly minItems?: number | undefined;
  readonly maxItems?: number | undefined;
}

/** The content of one profile file. */
export interface ProfileFile {
  readonly code: string;
  readonly models: readonly string[];
  readonly fields: Readonly<Record<string, FieldDef>>;
  readonly example: Readonly<Record<string, unknown>>;
}

export type Settings = Readonly<Record<string, unknown>>;

/** `field` is the settings key, e.g. "tracking_interval" ("" = the settings object as a whole). */
export interface FieldError {
  readonly field: string;
  readonly error: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly value: Settings } // normalized: numeric strings converted to numbers
  | { readonly ok: false; readonly errors: readonly FieldError[] };

export interface CompiledProfile {
  readonly code: string;
  readonly fields: Readonly<Record<string, FieldDef>>;
  readonly example: Settings;
  /** Every field that declares a `default`, with that default (frozen). */
  readonly defaults: Settings;
  /** Validate a COMPLETE settings object (the result of a merge). Reports EVERY bad field, not just the first. */
  validate(settings: Readonly<Record<string, unknown>>): ValidationResult;
  /**
   * For settings a tracker reported: keep only the fields that this profile knows and whose value is
   * valid on its own (type/range/values/format), normalized; drop the rest. Never throws.
   */
  sanitize(settings: Readonly<Record<string, unknown>>): Settings;
}

export interface ProfileRegistry {
  get(code: string): CompiledProfile | undefined;
  /** Sorted. */
  readonly codes: readonly string[];
}

export interface ModelEntry {
  readonly code: string;
  readonly name?: string;
  readonly trackingProfile: string | null;
}
