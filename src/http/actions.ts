import type { AuthService } from '../settings/auth-service.js';
import type { TrackerService } from '../settings/tracker-service.js';
import type { Principal } from '../settings/types.js';
import { settingsAnswer } from '../settings/views.js';
import { paramSchemas, parseParams, trackerIdOf } from './params.js';
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
  /** Runs the call; resolves to its success answer's JSON text (read's is cached per sync row). */
  run(services: Services, params: Json, principal: Principal | undefined): Promise<Text> | Text;
}

/** What fastify sent for a handler's result (`JSON.stringify` of `{ success: true, ...result }`). */
function ok(result: Json): Text {
  return JSON.stringify({ success: true, ...result });
}

const authenticated = (run: (s: Services, params: Json, p: Principal) => Promise<Text> | Text): Action => ({
  authenticated: true,
  run: (s, params, p) => run(s, params, p!),
});

/** Every call of docs/api.md#calls, by its path without prefix or trailing slash. */
export const ACTIONS: ReadonlyMap<string, Action> = new Map<string, Action>([
  [
    'user/auth',
    {
      authenticated: false,
      run: async (s, params) => {
        const { login, password } = parseParams(paramSchemas.auth, params);
        return ok({ hash: await s.auth.login(login, password) });
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
  ['tracker/list', authenticated((s, _params, p) => ok({ list: s.trackers.list(p) }))],
  [
    'tracker/read',
    authenticated((s, params, p) => ok({ value: s.trackers.read(p, trackerIdOf(params)) })),
  ],
  [
    'tracker/settings/tracking/read',
    authenticated((s, params, p) => settingsAnswer(s.trackers.readSettings(p, trackerIdOf(params)))),
  ],
  [
    'tracker/settings/tracking/update',
    authenticated(async (s, params, p) => {
      const { tracker_id, tracking_settings } = parseParams(paramSchemas.update, params);
      return ok({ sync: await s.trackers.updateSettingsBatched(p, tracker_id, tracking_settings) });
    }),
  ],
]);

/** `/v2/tracker/list/` → `tracker/list`. */
export function actionName(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.replace(/^\/+/, '').replace(/^v2\//, '').replace(/\/+$/, '');
}
