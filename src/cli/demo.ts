import type { CompiledProfile, Settings } from '../profiles/index.js';
import { openCore } from '../server.js';
import { AuthService, principalOf } from '../settings/auth-service.js';
import { provision, ProvisioningError } from '../settings/provisioning.js';
import { TrackerService } from '../settings/tracker-service.js';
import { NO_PUBLISHER } from '../settings/types.js';
import type { Store } from '../store/index.js';
import {
  DEMO_CLONE,
  DEMO_DEVICES,
  DEMO_GROUP,
  DEMO_DISPATCHER,
  DEMO_DISPATCHER_TRACKERS,
  DEMO_UPDATE,
  DEMO_USER,
  DEMO_VIEWER,
  demoProvisioningFile,
} from './demo-data.js';
import { parseArgs, UsageError } from './usage-error.js';
import { loadConfigNamingDatabase } from './database.js';

const HOST = '127.0.0.1';

/** The profile's example when it validates, else its defaults: a demo tracker's first version. */
function initialSettings(profile: CompiledProfile): Settings {
  for (const candidate of [profile.example, profile.defaults]) {
    const result = profile.validate(candidate);
    if (result.ok) return result.value;
  }
  throw new Error(`profile ${profile.code}: neither its example nor its defaults validate`);
}

/** The demo's fixed tracker ids must not take over trackers of real accounts. */
function checkIdsFree(store: Store): void {
  const expected = [...DEMO_DEVICES.map((d) => [d.trackerId, DEMO_USER.login] as const), [DEMO_CLONE.trackerId, DEMO_VIEWER.login] as const];
  for (const [id, login] of expected) {
    const row = store.trackers.findTracker(id);
    if (!row) continue;
    const owner = store.users.findById(row.owner_id)?.login;
    if (owner?.toLowerCase() !== login) {
      throw new UsageError(`demo: tracker id ${id} belongs to ${owner ?? `user ${row.owner_id}`}, not to ${login}; not overwriting it`);
    }
  }
  const group = store.groups.findGroup(DEMO_GROUP.id);
  const groupOwner = group && store.users.findById(group.owner_id)?.login;
  if (group && groupOwner?.toLowerCase() !== DEMO_USER.login) {
    throw new UsageError(`demo: group id ${group.id} belongs to ${groupOwner ?? `user ${group.owner_id}`}, not to ${DEMO_USER.login}; not overwriting it`);
  }
}

/** Single-quoted for a POSIX shell. */
const sq = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/**
 * `demo` (README.md#cli): seeds (idempotently, through the provisioning service) a demo account with four
 * trackers of different models, a clone and a sub-user; gives each tracker initial tracking settings
 * once; opens a session and prints everything needed to try the API and MQTT against `npm start`.
 */
export async function demo(args: readonly string[]): Promise<number> {
  const { values: options, positionals } = parseArgs(args, { json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('usage: trackconf demo [--json]');
  const config = loadConfigNamingDatabase();
  const { store, profiles } = await openCore(config);
  try {
    checkIdsFree(store);
    try {
      await provision(store, profiles, demoProvisioningFile());
    } catch (err) {
      if (err instanceof ProvisioningError) throw new UsageError(`demo: cannot seed the demo account: ${err.message}`);
      throw err;
    }

    const user = store.users.findByLogin(DEMO_USER.login);
    if (!user) throw new Error('demo user missing after provisioning');
    const principal = principalOf(user, null);
    const service = new TrackerService(store, profiles, NO_PUBLISHER);
    const trackers = DEMO_DEVICES.map((device) => {
      const row = store.trackers.findTracker(device.trackerId);
      const profile = row?.tracking_profile ? profiles.get(row.tracking_profile) : undefined;
      if (!row || !profile) throw new Error(`demo tracker ${device.trackerId} (${device.model}) has no tracking profile`);
      // Initial settings only for a device without any version: re-running demo adds none.
      if (store.settings.sync(row.device).version === 0) {
        service.updateSettings(principal, device.trackerId, initialSettings(profile));
      }
      return {
        id: row.id,
        label: row.label,
        owner: DEMO_USER.login,
        model: row.model,
        profile: profile.code,
        device_id: row.device_id,
        device_secret: device.secret,
        settings_version: store.settings.sync(row.device).version,
      };
    });
    const cloneRow = store.trackers.findTracker(DEMO_CLONE.trackerId);
    if (!cloneRow) throw new Error('demo clone missing after provisioning');
    const clone = {
      id: cloneRow.id,
      label: cloneRow.label,
      owner: DEMO_VIEWER.login,
      clone_of: DEMO_CLONE.cloneOf,
      model: cloneRow.model,
      profile: cloneRow.tracking_profile,
      device_id: cloneRow.device_id,
    };

    const auth = new AuthService(store, {
      sessionIdleMs: config.sessionIdleDays * 86_400_000,
      maxLoginFailures: config.login.maxFailures,
      loginWindowMs: config.login.windowSeconds * 1000,
    });
    const hash = await auth.login(DEMO_USER.login, DEMO_USER.password);

    const httpUrl = `http://${HOST}:${config.http.port}`;
    const first = trackers[0]!;
    const readBody = JSON.stringify({ hash, tracker_id: String(first.id) });
    const updateBody = JSON.stringify({
      hash,
      tracker_id: DEMO_UPDATE.trackerId,
      tracking_settings: DEMO_UPDATE.trackingSettings,
    });
    const api = (path: string, params: Record<string, unknown>) =>
      `curl -s -X POST ${httpUrl}/tracker/settings/tracking/${path} -H 'Content-Type: application/json' -d ${sq(JSON.stringify({ hash, ...params }))}`;
    const firstVersion = first.settings_version;
    const commands = {
      read_post: `curl -s -X POST ${httpUrl}/tracker/settings/tracking/read -H 'Content-Type: application/json' -d ${sq(readBody)}`,
      read_get: `curl -s ${sq(`${httpUrl}/tracker/settings/tracking/read?hash=${hash}&tracker_id=${first.id}`)}`,
      update: `curl -s -X POST ${httpUrl}/tracker/settings/tracking/update -H 'Content-Type: application/json' -d ${sq(updateBody)}`,
      list: `curl -s ${sq(`${httpUrl}/tracker/list?hash=${hash}`)}`,
      profile: api('profile', { tracker_id: first.id }),
      update_dry_run: api('update', { tracker_id: DEMO_UPDATE.trackerId, tracking_settings: DEMO_UPDATE.trackingSettings, dry_run: true }),
      update_expected_version: api('update', {
        tracker_id: DEMO_UPDATE.trackerId,
        tracking_settings: DEMO_UPDATE.trackingSettings,
        expected_version: firstVersion,
        request_id: 'demo-retry-safe-1',
      }),
      history: api('history', { tracker_id: first.id, limit: 10 }),
      revert: api('revert', { tracker_id: first.id, version: 1 }),
      bulk_update: api('bulk_update', { tracker_ids: trackers.map((tr) => tr.id), tracking_settings: { tracking_angle: 30 }, dry_run: true }),
      sync_summary: api('sync_summary', {}),
      mosquitto_sub: `mosquitto_sub -h ${HOST} -p ${config.mqtt.port} -u ${first.device_id} -P ${sq(first.device_secret)} -i ${first.device_id} -t trackers/${first.device_id}/config/tracking -q 1 -v`,
      mosquitto_sub_observer: `mosquitto_sub -h ${HOST} -p ${config.mqtt.port} -u ${DEMO_USER.login} -P ${sq(DEMO_USER.password)} -i demo-observer -t 'trackers/+/config/#' -q 1 -v`,
      simulate: 'npm run --silent trackconf -- simulate',
    };

    const facts = {
      database: config.db,
      login: DEMO_USER.login,
      password: DEMO_USER.password,
      hash,
      api_key: DEMO_USER.apiKey,
      user_id: user.id,
      http: { url: httpUrl },
      mqtt: { host: HOST, port: config.mqtt.port, ...(config.mqtt.wsPort !== 0 && { ws_url: `ws://${HOST}:${config.mqtt.wsPort}/mqtt` }) },
      trackers,
      clone,
      viewer: { login: DEMO_VIEWER.login, password: DEMO_VIEWER.password, api_key: DEMO_VIEWER.apiKey },
      subuser: {
        login: DEMO_DISPATCHER.login,
        password: DEMO_DISPATCHER.password,
        rights: [...DEMO_DISPATCHER.rights],
        trackers: [...DEMO_DISPATCHER_TRACKERS],
      },
      commands,
    };

    if (options.json === true) {
      process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`);
      return 0;
    }

    const pad = (text: string | number, width: number) => String(text).padEnd(width);
    const lines = [
      `trackconf demo account (database ${config.db})`,
      '',
      `  login      ${DEMO_USER.login}`,
      `  password   ${DEMO_USER.password}`,
      `  hash       ${hash}   (a new session; expires after ${config.sessionIdleDays} days without use)`,
      `  API key    ${DEMO_USER.apiKey}   (works wherever a hash does)`,
      '',
      'trackers (MQTT: username = client id = device id, password = device secret):',
      `  ${pad('id', 8)}${pad('model', 18)}${pad('profile', 14)}${pad('device id', 17)}${pad('device secret', 26)}version`,
      ...trackers.map(
        (t) => `  ${pad(t.id, 8)}${pad(t.model, 18)}${pad(t.profile, 14)}${pad(t.device_id, 17)}${pad(t.device_secret, 26)}${t.settings_version}`,
      ),
      `  ${pad(clone.id, 8)}clone of ${clone.clone_of} owned by ${clone.owner} (password ${DEMO_VIEWER.password}): reads, may not change (219)`,
      '',
      `sub-user   ${DEMO_DISPATCHER.login} / ${DEMO_DISPATCHER.password}, right ${DEMO_DISPATCHER.rights.join(', ')}, ` +
        `trackers ${DEMO_DISPATCHER_TRACKERS.join(', ')}`,
      '',
      `HTTP API   ${httpUrl}`,
      `MQTT       mqtt://${HOST}:${config.mqtt.port}${config.mqtt.wsPort !== 0 ? `, ws://${HOST}:${config.mqtt.wsPort}/mqtt` : ''}`,
      '',
      'try it against the running service (`npm start`; demo may run before or while it runs):',
      '',
      '  # read the tracking settings of the first tracker (POST JSON)',
      `  ${commands.read_post}`,
      '',
      '  # the same as a GET request',
      `  ${commands.read_get}`,
      '',
      `  # change them (a new version, published to the tracker)`,
      `  ${commands.update}`,
      '',
      '  # the trackers this account sees',
      `  ${commands.list}`,
      '',
      'fleet operations (docs/api.md#fleet-operations):',
      '',
      "  # the tracker's tracking profile as form data",
      `  ${commands.profile}`,
      '',
      '  # what an update would store and change, without storing it',
      `  ${commands.update_dry_run}`,
      '',
      `  # an update only if the latest version is still ${firstVersion} (else 1001), safe to retry (request_id)`,
      `  ${commands.update_expected_version}`,
      '',
      '  # the versions, newest first, with what each changed, who made it and its outcome',
      `  ${commands.history}`,
      '',
      '  # a new version with the settings of version 1',
      `  ${commands.revert}`,
      '',
      '  # one change for many trackers (dry run: drop "dry_run" to apply it)',
      `  ${commands.bulk_update}`,
      '',
      '  # how far every tracker got with its latest version',
      `  ${commands.sync_summary}`,
      '',
      '  # receive the config as the tracker does (retained message)',
      `  ${commands.mosquitto_sub}`,
      '',
      '  # or watch every demo tracker as an observer (the platform user)',
      `  ${commands.mosquitto_sub_observer}`,
      '',
      '  # connect simulated trackers that apply and acknowledge their settings',
      `  ${commands.simulate}`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    store.close();
  }
}
