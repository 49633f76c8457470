/**
 * The one error registry: Navixy's codes, descriptions and the HTTP status each maps to (docs/errors.md).
 * HTTP maps these in src/http/errors.ts, MQTT never answers with them; docs/errors.md is kept in step
 * by test/errors.test.ts.
 */
export interface ErrorDef {
  readonly code: number;
  readonly description: string;
  readonly http: number;
}

function def(code: number, description: string, http: number): ErrorDef {
  return Object.freeze({ code, description, http });
}

export const Errors = Object.freeze({
  database: def(1, 'Database error', 500),
  wrongHash: def(3, 'Wrong hash', 400),
  unknownCredential: def(4, 'User or API key not found or session ended', 400),
  wrongFormat: def(5, 'Wrong request format', 400),
  unexpected: def(6, 'Unexpected error', 500),
  invalidParameters: def(7, 'Invalid parameters', 400),
  tooLarge: def(9, 'Too large request', 412),
  notPermitted: def(13, 'Operation not permitted', 403),
  tooManyRequests: def(15, 'Too many requests (rate limit exceeded)', 429),
  wrongLogin: def(102, 'Wrong login or password', 400),
  loginAttemptsExceeded: def(105, 'Login attempts limit exceeded, try again later', 400),
  wrongHandler: def(111, 'Wrong handler', 400),
  notFound: def(201, 'Not found in the database', 400),
  deviceBlocked: def(208, 'Device blocked', 403),
  notSupported: def(214, 'Requested operation or parameters are not supported by the device', 400),
  notForClones: def(219, 'Not allowed for clones of the device', 403),
  versionConflict: def(1001, 'Version conflict', 409),
});

export type ErrorName = keyof typeof Errors;

/** One bad parameter of a request, named as the client sent it (`tracking_settings.tracking_interval`). */
export interface ParameterError {
  readonly parameter: string;
  readonly error: string;
}

/** A refusal the client caused; carries a registry entry, never a driver message. */
export class ApiError extends Error {
  readonly def: ErrorDef;
  readonly errors: readonly ParameterError[] | undefined;
  /** Fields the error answer carries besides `status` (1001's `sync`: docs/api.md#version-conflicts). */
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(name: ErrorName, errors?: readonly ParameterError[], extra?: Readonly<Record<string, unknown>>) {
    super(Errors[name].description);
    this.name = 'ApiError';
    this.def = Errors[name];
    this.errors = errors;
    this.extra = extra;
  }
}

export function invalidParameters(errors: readonly ParameterError[]): ApiError {
  return new ApiError('invalidParameters', errors);
}

/** The Navixy error envelope of `def` (docs/api.md#response-envelope). */
export interface ErrorBody {
  readonly success: false;
  readonly status: { readonly code: number; readonly description: string };
  readonly errors?: readonly ParameterError[];
  readonly [extra: string]: unknown;
}

export function errorBody(def: ErrorDef, errors?: readonly ParameterError[], extra?: Readonly<Record<string, unknown>>): ErrorBody {
  return {
    success: false,
    status: { code: def.code, description: def.description },
    ...(errors && errors.length > 0 && { errors }),
    ...extra,
  };
}
