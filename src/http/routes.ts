import type { Action } from './actions.js';

/**
 * The request rules of the API, the same for both HTTP paths (fastify and the pre-routed fast path,
 * src/http/fast-path.ts): where calls are served, with which methods and body types, and how large
 * a body each accepts (docs/api.md#transport).
 */

/** Every call is served under each prefix, with or without a trailing slash. */
export const PREFIXES = ['', '/v2', '/api-v2'] as const;

/** The only methods that run a call; every other answers 111 and runs nothing (OPTIONS: a preflight). */
export const CALL_METHODS = ['GET', 'POST'] as const;

/** The body types a call accepts (fastify's JSON parser, @fastify/formbody); any other is 5. */
export const BODY_TYPES = { json: 'application/json', form: 'application/x-www-form-urlencoded' } as const;

/**
 * The spellings of the JSON type the fast path takes on sight: each one fastify's parser takes too.
 * Any other spelling (case, parameters) goes to fastify, which decides.
 */
export const FAST_JSON_TYPES: ReadonlySet<string> = new Set([BODY_TYPES.json, `${BODY_TYPES.json}; charset=utf-8`, `${BODY_TYPES.json};charset=utf-8`]);

export interface Route {
  /** The call's path without prefix or trailing slash (`tracker/list`). */
  readonly name: string;
  readonly action: Action;
  /** The call's own body limit, else the service's `http.bodyLimit`. */
  readonly bodyLimit: number;
  /** The paths fastify registers for it (its router adds the trailing-slash and `//` forms). */
  readonly paths: readonly string[];
}

/**
 * The calls of `ACTIONS` as routes, built once per app. `exact` finds a call by the path a client
 * sends, without normalising it (the fast path's lookup: one map read, no allocation); fastify
 * registers `paths` with `ignoreTrailingSlash` and `ignoreDuplicateSlashes`, which accept the same
 * forms and the doubled slashes too.
 */
export class RouteTable {
  readonly routes: readonly Route[];
  private readonly byPath: ReadonlyMap<string, Route>;

  constructor(actions: ReadonlyMap<string, Action>, defaultBodyLimit: number) {
    this.routes = [...actions].map(([name, action]) => ({
      name,
      action,
      bodyLimit: action.bodyLimit ?? defaultBodyLimit,
      paths: PREFIXES.map((prefix) => `${prefix}/${name}`),
    }));
    this.byPath = new Map(this.routes.flatMap((route) => route.paths.flatMap((path) => [[path, route] as const, [`${path}/`, route] as const])));
  }

  /** The call at exactly this path (`/v2/tracker/list/`), or undefined (a query string included). */
  exact(path: string): Route | undefined {
    return this.byPath.get(path);
  }
}
