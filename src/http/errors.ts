import { ApiError, Errors, type ErrorDef, type ParameterError } from '../errors.js';
import { DurabilityError } from '../store/wal-sync.js';

/**
 * The one place an error of any kind becomes a Navixy error for HTTP. Anything not recognised is
 * 6 (or 1 for the database) with no message of its own: 5xx never leak driver text or stacks.
 */
export function classify(err: unknown): { def: ErrorDef; errors?: readonly ParameterError[]; extra?: Readonly<Record<string, unknown>> } {
  if (err instanceof ApiError) return { def: err.def, ...(err.errors && { errors: err.errors }), ...(err.extra && { extra: err.extra }) };
  const e = err as { code?: unknown; statusCode?: unknown; name?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { def: Errors.tooLarge };
  // Body parsers: malformed JSON or form, empty JSON body, unsupported or missing content type.
  if (code.startsWith('FST_ERR_CTP_') || (e?.statusCode === 400 && e?.name === 'SyntaxError')) {
    return { def: Errors.wrongFormat };
  }
  if (code.startsWith('SQLITE_') || e?.name === 'SqliteError' || err instanceof DurabilityError) return { def: Errors.database };
  // better-sqlite3 throws a plain TypeError (no code) on a closed connection: still the database.
  if (err instanceof TypeError && err.message === 'The database connection is not open') return { def: Errors.database };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { def: Errors.wrongFormat };
  return { def: Errors.unexpected };
}
