/**
 * The provisioning file every end-to-end test starts from (imported through the real `provision`).
 * alice owns most trackers; bob holds a clone of 1001; carol is alice's sub-user with the right to
 * configure 1001; dave is alice's sub-user without rights, bound to 1001 and 1003.
 */
export const ALICE = { login: 'alice@example.com', password: 'alice-secret-1', apiKey: '0123456789abcdef0123456789abcdef' };
export const BOB = { login: 'bob@example.com', password: 'bob-secret-2', apiKey: 'fedcba9876543210fedcba9876543210' };
export const CAROL = { login: 'carol@example.com', password: 'carol-secret-3' };
export const DAVE = { login: 'dave@example.com', password: 'dave-secret-4' };

export interface FleetDevice {
  readonly trackerId: number;
  readonly deviceId: string;
  readonly secret: string;
  readonly model: string;
}

/** telfm: integer and enum fields, all required. */
export const TELFM: FleetDevice = { trackerId: 1001, deviceId: '356307042441013', secret: 'secret-telfm-1001', model: 'telfm' };
/** A blocked device. */
export const BLOCKED: FleetDevice = { trackerId: 1003, deviceId: '356307042441021', secret: 'secret-blocked-1003', model: 'telfm5x' };
/** A model without a tracking profile (214). */
export const NO_PROFILE: FleetDevice = { trackerId: 1004, deviceId: '356307042441039', secret: 'secret-panic-1004', model: 'panic_button' };
/** An array field (wakeup_timers) and an enum (jointech_jt703). */
export const ARRAYS: FleetDevice = { trackerId: 1005, deviceId: '356307042441047', secret: 'secret-jt703-1005', model: 'jointech_jt703' };
/** A number field in km (tramigo). */
export const NUMBERS: FleetDevice = { trackerId: 1006, deviceId: '356307042441054', secret: 'secret-tramigo-1006', model: 'tramigo' };
/** Formats (HH:mm), defaults and required_if (cguard_asset). */
export const FORMATS: FleetDevice = { trackerId: 1007, deviceId: '356307042441062', secret: 'secret-cguard-1007', model: 'cguard_asset' };
/** What config/profiles/cguard_asset.json fills in when a field is not given. */
export const CGUARD_DEFAULTS = {
  tracking_interval: 60,
  tracking_distance: 100,
  tracking_angle: 45,
  psm_interval: 300,
  wakeup_type: 'PERIODICAL',
  wakeup_day: 'EVERYDAY',
  wakeup_time: '12:00',
  wakeup_period: 1440,
};
/** bob's clone of 1001. */
export const CLONE_ID = 1002;

export const OWN_DEVICES: readonly FleetDevice[] = [TELFM, BLOCKED, NO_PROFILE, ARRAYS, NUMBERS, FORMATS];

/** A complete, valid telfm `tracking_settings` (the same the bench scripts write). */
export { TELFM_SETTINGS as VALID_TELFM } from '../../bench/lib/settings.js';

export function fleetFile() {
  return {
    models: [{ code: 'panic_button', tracking_profile: null }],
    users: [
      { login: ALICE.login, password: ALICE.password, api_keys: [ALICE.apiKey] },
      { login: BOB.login, password: BOB.password, api_keys: [BOB.apiKey] },
    ],
    subusers: [
      { login: CAROL.login, password: CAROL.password, master: ALICE.login, rights: ['tracker_configure'], trackers: [1001] },
      { login: DAVE.login, password: DAVE.password, master: ALICE.login, rights: [], trackers: [1001, 1003] },
    ],
    trackers: [
      ...OWN_DEVICES.map((d) => ({
        id: d.trackerId,
        owner: ALICE.login,
        label: `Tracker ${d.trackerId}`,
        model: d.model,
        device_id: d.deviceId,
        device_secret: d.secret,
        blocked: d === BLOCKED,
      })),
      { id: CLONE_ID, owner: BOB.login, label: 'Truck 1 (shared)', clone_of: TELFM.trackerId },
    ],
  };
}
