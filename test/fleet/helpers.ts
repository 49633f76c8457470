/** Shared setup of the fleet-operations suites (docs/api.md#fleet-operations). */
import type { Test } from 'tap';
import { ALICE } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { post, startTestServer, type ApiAnswer, type StartOptions } from '../helpers/server.js';

export const P = {
  read: 'tracker/settings/tracking/read',
  update: 'tracker/settings/tracking/update',
  profile: 'tracker/settings/tracking/profile',
  history: 'tracker/settings/tracking/history',
  revert: 'tracker/settings/tracking/revert',
  bulk: 'tracker/settings/tracking/bulk_update',
  summary: 'tracker/settings/tracking/sync_summary',
} as const;

export async function fleetServer(t: Test, options: StartOptions = {}) {
  const ts = await startTestServer(t, { config: NO_RATE_LIMIT, ...options });
  const call = (path: string, params: Record<string, unknown>, hash: string = ALICE.apiKey): Promise<ApiAnswer> => post(ts.url, path, { hash, ...params });
  const versions = (deviceId: string): number =>
    (
      ts.server.store.db.prepare('SELECT count(*) AS n FROM settings_versions v JOIN devices d ON d.id = v.device WHERE d.device_id = ?').get(deviceId) as {
        n: number;
      }
    ).n;
  const userId = (login: string): number => ts.server.store.users.findByLogin(login)!.id;
  return { ...ts, call, versions, userId };
}
