export type {
  CompiledProfile,
  FieldDef,
  FieldError,
  FieldType,
  Format,
  ItemDef,
  ItemType,
  ModelEntry,
  ProfileFile,
  ProfileRegistry,
  RequiredIf,
  Settings,
  Unit,
  ValidationResult,
} from './types.js';
export { FIELD_TYPES, FORMATS, ITEM_TYPES, UNITS } from './types.js';
export { compileProfile, describe, fieldSchema, MAX_ARRAY_ITEMS, MAX_STRING_LENGTH } from './compile.js';
export { CODE_PATTERN, modelsFileSchema, profileFileSchema } from './schema.js';
export { loadModels, loadProfiles, ProfileLoadError } from './load.js';
