import type { AuthService } from '../settings/auth-service.js';
import type { TrackerService } from '../settings/tracker-service.js';
import type { Principal } from '../settings/types.js';
import { settingsAnswer } from '../settings/views.js';
import { bulkUpdateParams, paramSchemas, parseParams, trackerIdOf, updateParams } from './params.js';
import type { Json } from '../json.js';

export interface Services {
  readonly auth: AuthService;
  readonly trackers: TrackerService;
  /**
   * The durability gate: undefined when every commit is on disk, else a promise that settles when
   * they are. Every answer waits for it before it is written (src/http/answer.ts `deliver`).
   */
  readonly durable?: () => Promise<void> | undefined;
}

/** The JSON text of a success answer, `{"success":true,…}`. */
type Text = string;

export interface Action {
  /** false only for user/auth: every other call needs a credential. */
  readonly authenticated: boolean;
  /**
   * The largest request body this call accepts, in bytes (more: 9, HTTP 412), on both HTTP paths;
   * unset: `http.bodyLimit` (docs/api.md#limits).
   */
  readonly bodyLimit?: number;
  /** Runs the call; resolves to its success answer's JSON text (read's is cached per sync row). */
  run(services: Services, params: Json, principal: Principal | undefined): Promise<Text> | Text;
}

/** What fastify sent for a handler's result (`JSON.stringify` of `{ success: true, ...result }`). */
function ok(result: Json): Text {
  return JSON.stringify({ success: true, ...result });
}

/** A call that needs a credential; `options` for its optional fields (`bodyLimit`). */
const authenticated = (run: (s: Services, params: Json, p: Principal) => Promise<Text> | Text, options: Pick<Action, 'bodyLimit'> = {}): Action => ({
  authenticated: true,
  ...options,
  run: (s, params, p) => run(s, params, p!),
});

/**
 * Every call of the API (docs/api.md#calls), by its path without prefix or trailing slash: the one
 * table both HTTP paths route from (src/http/routes.ts).
 */
export const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  [
    'user/auth',
    {
      authenticated: false,
      run: async (s, params) => {
        const { login, password } = parseParams(paramSchemas.auth, params);
        // Navixy puts `type` before `hash` (docs/api.md#userauth)
        return ok({ type: 'authenticated', hash: await s.auth.login(login, password) });
      },
    },
  ],
  [
    'user/logout',
    authenticated((s, _params, p) => {
      s.auth.logout(p);
      return ok({});
    }),
  ],
  [
    'user/session/renew',
    authenticated((s, _params, p) => {
      s.auth.renew(p);
      return ok({});
    }),
  ],
  ['user/get_info', authenticated((s, _params, p) => ok({ user_info: s.auth.userInfo(p) }))],
  ['tracker/list', authenticated((s, params, p) => ok({ list: s.trackers.list(p, parseParams(paramSchemas.trackerList, params).labels) }))],
  ['tracker/group/list', authenticated((s, _params, p) => ok({ list: s.trackers.listGroups(p) }))],
  ['tracker/read', authenticated((s, params, p) => ok({ value: s.trackers.read(p, trackerIdOf(params)) }))],
  ['tracker/settings/tracking/read', authenticated((s, params, p) => settingsAnswer(s.trackers.readSettings(p, trackerIdOf(params))))],
  ['tracker/settings/tracking/update', authenticated(async (s, params, p) => ok(await s.trackers.fleet.update(p, updateParams(params))))],
  ['tracker/settings/tracking/profile', authenticated((s, params, p) => ok(s.trackers.fleet.profile(p, trackerIdOf(params))))],
  [
    'tracker/settings/tracking/history',
    authenticated((s, params, p) => {
      const { tracker_id, limit, before_version } = parseParams(paramSchemas.history, params);
      return ok(s.trackers.fleet.history(p, tracker_id, limit, before_version));
    }),
  ],
  [
    'tracker/settings/tracking/revert',
    authenticated(async (s, params, p) => {
      const { tracker_id, version, expected_version } = parseParams(paramSchemas.revert, params);
      return ok(await s.trackers.fleet.revert(p, { trackerId: tracker_id, version, expectedVersion: expected_version }));
    }),
  ],
  [
    'tracker/settings/tracking/bulk_update',
    authenticated(async (s, params, p) => ok(await s.trackers.fleet.bulkUpdate(p, bulkUpdateParams(params))), { bodyLimit: 1_048_576 }),
  ],
  [
    'tracker/settings/tracking/sync_summary',
    authenticated((s, params, p) => {
      const { tracker_ids, all } = parseParams(paramSchemas.syncSummary, params);
      return ok(s.trackers.fleet.syncSummary(p, tracker_ids, all === true));
    }),
  ],
]);
