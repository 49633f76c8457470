import type { AuthService } from '../settings/auth-service.js';
import type { TrackerService } from '../settings/tracker-service.js';
import type { Principal } from '../settings/types.js';
import { paramSchemas, parseParams } from './params.js';

type Json = Record<string, unknown>;

export interface Services {
  readonly auth: AuthService;
  readonly trackers: TrackerService;
}

export interface Action {
  /** false only for user/auth: every other call needs a credential. */
  readonly authenticated: boolean;
  run(services: Services, params: Json, principal: Principal | undefined): Promise<Json> | Json;
}

const authenticated = (run: (s: Services, params: Json, p: Principal) => Promise<Json> | Json): Action => ({
  authenticated: true,
  run: (s, params, p) => run(s, params, p!),
});

/** Every call of SPEC §3, by its path without prefix or trailing slash. */
export const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  [
    'user/auth',
    {
      authenticated: false,
      run: async (s, params) => {
        const { login, password } = parseParams(paramSchemas.auth, params);
        return { hash: await s.auth.login(login, password) };
      },
    },
  ],
  [
    'user/logout',
    authenticated((s, _params, p) => {
      s.auth.logout(p);
      return {};
    }),
  ],
  ['tracker/list', authenticated((s, _params, p) => ({ list: s.trackers.list(p) }))],
  [
    'tracker/read',
    authenticated((s, params, p) => ({ value: s.trackers.read(p, parseParams(paramSchemas.tracker, params).tracker_id) })),
  ],
  [
    'tracker/settings/tracking/read',
    authenticated((s, params, p) => s.trackers.readSettings(p, parseParams(paramSchemas.tracker, params).tracker_id)),
  ],
  [
    'tracker/settings/tracking/update',
    authenticated(async (s, params, p) => {
      const { tracker_id, tracking_settings } = parseParams(paramSchemas.update, params);
      return { sync: await s.trackers.updateSettingsBatched(p, tracker_id, tracking_settings) };
    }),
  ],
]);

/** `/v2/tracker/list/` → `tracker/list`. */
export function actionName(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.replace(/^\/+/, '').replace(/^v2\//, '').replace(/\/+$/, '');
}
