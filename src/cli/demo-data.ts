/**
 * The demo account of `trackconf demo` (README.md#cli), fixed so that `demo` is idempotent and `simulate`
 * can connect the same devices. Demo credentials only: never use them for real trackers.
 */

export const DEMO_USER = Object.freeze({
  login: 'demo@trackconf.local',
  password: 'demo-password',
  apiKey: 'deadbeefdeadbeefdeadbeef00000001',
});

/** A second account that holds a clone of the first demo tracker (read-only access to its settings). */
export const DEMO_VIEWER = Object.freeze({
  login: 'viewer@trackconf.local',
  password: 'viewer-password',
  apiKey: 'deadbeefdeadbeefdeadbeef00000002',
});

/** A sub-user of the demo account allowed to change the settings of two trackers. */
export const DEMO_DISPATCHER = Object.freeze({
  login: 'dispatcher@trackconf.local',
  password: 'dispatcher-password',
  rights: Object.freeze(['tracker_configure']),
});

export interface DemoDevice {
  readonly deviceId: string;
  readonly secret: string;
  readonly trackerId: number;
  /** A model code (config/models.json or a profile code). */
  readonly model: string;
  readonly label: string;
  /** The device's SIM phone (a fictional number). */
  readonly phone?: string;
}

/** The demo fleet: four physical trackers of different models, each with a tracking profile. */
export const DEMO_DEVICES: readonly DemoDevice[] = Object.freeze(
  [
    {
      deviceId: '359632100000011',
      secret: 'demo-secret-fmb640-0011',
      trackerId: 900001,
      model: 'teltonika_fmb640', // profile telfm5x
      label: 'Demo truck (Teltonika FMB640)',
      phone: '+15555550111',
    },
    {
      deviceId: '359632100000029',
      secret: 'demo-secret-gl200-0029',
      trackerId: 900002,
      model: 'gl200', // Queclink GL200: enum + boolean fields
      label: 'Demo van (Queclink GL200)',
    },
    {
      deviceId: '359632100000037',
      secret: 'demo-secret-concox-0037',
      trackerId: 900003,
      model: 'concox_x1', // profile concoxgt06
      label: 'Demo car (Concox X1)',
    },
    {
      deviceId: '359632100000045',
      secret: 'demo-secret-piccolo-0045',
      trackerId: 900004,
      model: 'piccolo_plus', // enums, a boolean and optional fields
      label: 'Demo asset (Piccolo Plus)',
    },
  ].map((device) => Object.freeze(device)),
);

/** The viewer's clone of the first demo tracker: same device, may read, may not change (219). */
export const DEMO_CLONE = Object.freeze({
  trackerId: 900005,
  cloneOf: 900001,
  label: 'Shared demo truck (clone)',
});

/** The demo account's tracker group, holding the trackers listed here. */
export const DEMO_GROUP = Object.freeze({
  id: 900001,
  title: 'Demo depot',
  color: '1E96DC',
  trackers: Object.freeze([900001, 900002]),
});

/** Tracker ids bound to the dispatcher sub-user. */
export const DEMO_DISPATCHER_TRACKERS: readonly number[] = Object.freeze([900001, 900002]);

/** The change the printed `update` example makes (valid for the first tracker's profile, telfm5x). */
export const DEMO_UPDATE = Object.freeze({
  trackerId: 900001,
  trackingSettings: Object.freeze({ tracking_interval: 60, tracking_distance: 200 }),
});

/** The provisioning file (docs/provisioning.md) that seeds the demo; imported through `provision`. */
export function demoProvisioningFile() {
  return {
    users: [
      { login: DEMO_USER.login, password: DEMO_USER.password, api_keys: [DEMO_USER.apiKey] },
      { login: DEMO_VIEWER.login, password: DEMO_VIEWER.password, api_keys: [DEMO_VIEWER.apiKey] },
    ],
    subusers: [
      {
        login: DEMO_DISPATCHER.login,
        password: DEMO_DISPATCHER.password,
        master: DEMO_USER.login,
        rights: [...DEMO_DISPATCHER.rights],
        trackers: [...DEMO_DISPATCHER_TRACKERS],
      },
    ],
    groups: [{ id: DEMO_GROUP.id, owner: DEMO_USER.login, title: DEMO_GROUP.title, color: DEMO_GROUP.color }],
    trackers: [
      ...DEMO_DEVICES.map((device) => ({
        id: device.trackerId,
        owner: DEMO_USER.login,
        label: device.label,
        model: device.model,
        device_id: device.deviceId,
        device_secret: device.secret,
        group_id: DEMO_GROUP.trackers.includes(device.trackerId) ? DEMO_GROUP.id : 0,
        ...(device.phone !== undefined && { phone: device.phone }),
      })),
      { id: DEMO_CLONE.trackerId, owner: DEMO_VIEWER.login, label: DEMO_CLONE.label, clone_of: DEMO_CLONE.cloneOf },
    ],
  };
}
