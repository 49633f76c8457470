/**
 * Settings semantics over HTTP (docs/api.md#tracking-settings): defaults before any update, merge, required fields after the
 * merge, types/ranges/enums/formats/arrays of real profiles (telfm, tramigo, cguard_asset,
 * jointech_jt703), numeric strings stored as numbers, versions and `sync`, and that a rejected update
 * changes nothing.
 */
import t, { type Test } from 'tap';
import { ALICE, ARRAYS, CGUARD_DEFAULTS, FORMATS, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { expectError, expectOk, NO_RATE_LIMIT } from '../helpers/http.js';
import { form, get, post, startTestServer } from '../helpers/server.js';

const READ = 'tracker/settings/tracking/read';
const UPDATE = 'tracker/settings/tracking/update';
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

const VALID_TRAMIGO = { tracking_interval: 5, tracking_distance: 1, tracking_angle: 30, on_stop_tracking_interval: 60, sleep_mode: 'disabled' };
const VALID_JT703 = { tracking_interval: 60, sleep_mode: 'enabled' };

t.test('settings', async (t) => {
  const { url, server } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const hash = ALICE.apiKey;
  const read = async (t: Test, trackerId: number) =>
    expectOk(t, await get(url, READ, { hash, tracker_id: String(trackerId) }), `read ${trackerId}`) as {
      value: Record<string, unknown>;
      sync: Record<string, unknown>;
    };
  const update = (trackerId: number, settings: unknown) => post(url, UPDATE, { hash, tracker_id: trackerId, tracking_settings: settings });
  const versionsOf = (deviceId: string) =>
    (
      server.store.db.prepare('SELECT count(*) AS n FROM settings_versions v JOIN devices d ON d.id = v.device WHERE d.device_id = ?').get(deviceId) as {
        n: number;
      }
    ).n;

  /** An update that must answer 7 naming `parameters`, and change nothing at all. */
  const rejects = async (t: Test, device: { trackerId: number; deviceId: string }, settings: unknown, parameters: string[], what: string) => {
    const before = await read(t, device.trackerId);
    const versions = versionsOf(device.deviceId);
    expectError(
      t,
      await update(device.trackerId, settings),
      'invalidParameters',
      parameters.map((p) => `tracking_settings.${p}`),
      what,
    );
    const after = await read(t, device.trackerId);
    t.strictSame(after, before, `${what}: value and sync unchanged`);
    t.equal(versionsOf(device.deviceId), versions, `${what}: no version stored`);
  };

  /** An accepted update; returns its sync. */
  const accepts = async (t: Test, trackerId: number, settings: unknown, what: string) => {
    const body = expectOk(t, await update(trackerId, settings), what);
    return body.sync as { version: number; state: string; changed_at: string };
  };

  t.test('before any update: version 0, state none, profile defaults', async (t) => {
    for (const [device, value] of [
      [TELFM, {}],
      [ARRAYS, {}],
      [NUMBERS, {}],
      [FORMATS, CGUARD_DEFAULTS],
    ] as const) {
      const body = await read(t, device.trackerId);
      t.strictSame(body.sync, { version: 0, state: 'none' }, `${device.model}: sync`);
      t.strictSame(body.value, value, `${device.model}: value`);
      t.strictSame(Object.keys(body).sort(), ['success', 'sync', 'value'], `${device.model}: answer fields`);
    }
  });

  t.test('telfm: required after merge, versions, merge, types and ranges', async (t) => {
    await rejects(
      t,
      TELFM,
      { tracking_interval: 60 },
      ['tracking_angle', 'tracking_distance', 'on_stop_tracking_interval', 'sleep_mode', 'stop_detection'],
      'first update with a partial object',
    );
    await rejects(t, TELFM, {}, Object.keys(VALID_TELFM) /* already in profile order */, 'first update, empty');
    const { stop_detection: _omitted, ...withoutOne } = VALID_TELFM;
    await rejects(t, TELFM, withoutOne, ['stop_detection'], 'one required field missing');

    const before = Date.now();
    const v1 = await accepts(t, TELFM.trackerId, { ...VALID_TELFM, tracking_interval: '60', tracking_distance: '100' }, 'v1');
    const after = Date.now();
    t.strictSame(Object.keys(v1).sort(), ['changed_at', 'state', 'version'], 'sync fields');
    t.equal(v1.version, 1, 'version 1');
    t.equal(v1.state, 'pending', 'state pending');
    t.match(v1.changed_at, ISO_8601, 'changed_at is ISO-8601');
    t.ok(before <= Date.parse(v1.changed_at) && Date.parse(v1.changed_at) <= after, 'changed_at is when the update was made');
    let body = await read(t, TELFM.trackerId);
    t.strictSame(body.value, VALID_TELFM, 'numeric strings stored as numbers');
    t.equal(typeof body.value.tracking_interval, 'number', 'a number, not a string');
    t.strictSame(body.sync, v1, 'read returns the same sync');

    const v2 = await accepts(t, TELFM.trackerId, { tracking_interval: 120 }, 'v2: one field');
    t.equal(v2.version, 2, 'version 2');
    body = await read(t, TELFM.trackerId);
    t.strictSame(body.value, { ...VALID_TELFM, tracking_interval: 120 }, 'merge keeps the other fields');

    const v3 = await accepts(t, TELFM.trackerId, { sleep_mode: 'soft_sleep', stop_detection: 'gps' }, 'v3: two fields');
    t.equal(v3.version, 3, 'version 3');
    t.ok(v3.changed_at >= v2.changed_at && v2.changed_at >= v1.changed_at, 'changed_at does not go back');
    body = await read(t, TELFM.trackerId);
    const current = { ...VALID_TELFM, tracking_interval: 120, sleep_mode: 'soft_sleep', stop_detection: 'gps' };
    t.strictSame(body.value, current, 'merged over v2');
    t.strictSame(body.sync, { version: 3, state: 'pending', changed_at: v3.changed_at }, 'sync of v3');

    await rejects(t, TELFM, { foo: 1 }, ['foo'], 'unknown field');
    await rejects(t, TELFM, { tracking_interval: 90, foo: 1, bar: 'x' }, ['foo', 'bar'], 'unknown fields beside a valid one');
    await rejects(t, TELFM, { tracking_interval: 29 }, ['tracking_interval'], 'integer below min');
    await rejects(t, TELFM, { tracking_interval: 256 }, ['tracking_interval'], 'integer above max');
    await rejects(t, TELFM, { tracking_interval: 60.5 }, ['tracking_interval'], 'not an integer');
    await rejects(t, TELFM, { tracking_interval: '60.5' }, ['tracking_interval'], 'decimal string for an integer');
    for (const bad of ['1e2', '0x3C', 'abc', '', ' 60', true, null, [60], { v: 60 }]) {
      await rejects(t, TELFM, { tracking_interval: bad }, ['tracking_interval'], `integer field given ${JSON.stringify(bad)}`);
    }
    await rejects(t, TELFM, { sleep_mode: 'on' }, ['sleep_mode'], 'enum value not allowed');
    await rejects(t, TELFM, { sleep_mode: 'DISABLED' }, ['sleep_mode'], 'enum is case-sensitive');
    await rejects(t, TELFM, { stop_detection: 1 }, ['stop_detection'], 'enum given a number');
    await rejects(
      t,
      TELFM,
      { sleep_mode: 'on', tracking_interval: 1, tracking_angle: 500 },
      ['tracking_angle', 'tracking_interval', 'sleep_mode'],
      'every bad field named, in profile order',
    );
    await rejects(t, TELFM, { tracking_interval: 90, tracking_angle: 5 }, ['tracking_angle'], 'a valid field does not get in with an invalid one');

    const v4 = await accepts(t, TELFM.trackerId, { tracking_interval: '30', on_stop_tracking_interval: 65535 }, 'boundaries');
    t.equal(v4.version, 4, 'rejected updates used no version number');
    body = await read(t, TELFM.trackerId);
    t.strictSame(body.value, { ...current, tracking_interval: 30, on_stop_tracking_interval: 65535 }, 'min and max accepted');
  });

  t.test('tramigo: a number field in km', async (t) => {
    await rejects(t, NUMBERS, { ...VALID_TRAMIGO, tracking_distance: 0.4 }, ['tracking_distance'], 'below 0.5');
    await rejects(t, NUMBERS, { ...VALID_TRAMIGO, tracking_distance: 20.01 }, ['tracking_distance'], 'above 20');
    for (const bad of ['abc', '2,5', '.5', '1e1', '2.5km', true]) {
      await rejects(t, NUMBERS, { ...VALID_TRAMIGO, tracking_distance: bad }, ['tracking_distance'], `number field given ${JSON.stringify(bad)}`);
    }
    await rejects(t, NUMBERS, { ...VALID_TRAMIGO, tracking_interval: 1.5 }, ['tracking_interval'], 'an integer field is not a number field');

    const v1 = await accepts(t, NUMBERS.trackerId, { ...VALID_TRAMIGO, tracking_distance: '2.5' }, '"2.5"');
    t.equal(v1.version, 1);
    let body = await read(t, NUMBERS.trackerId);
    t.equal(body.value.tracking_distance, 2.5, '"2.5" stored as the number 2.5');
    t.strictSame(body.value, { ...VALID_TRAMIGO, tracking_distance: 2.5 });
    await accepts(t, NUMBERS.trackerId, { tracking_distance: 0.5 }, 'min 0.5');
    body = await read(t, NUMBERS.trackerId);
    t.equal(body.value.tracking_distance, 0.5);
    await accepts(t, NUMBERS.trackerId, { tracking_distance: '20' }, 'max "20"');
    body = await read(t, NUMBERS.trackerId);
    t.equal(body.value.tracking_distance, 20);
    t.equal(body.sync.version, 3);
  });

  t.test('cguard_asset: defaults, HH:mm and required_if', async (t) => {
    await rejects(t, FORMATS, { wakeup_time: '07:30' }, ['mode'], 'required field without default');
    const v1 = await accepts(t, FORMATS.trackerId, { mode: 'TRACKER' }, 'merged over the defaults');
    t.equal(v1.version, 1);
    let body = await read(t, FORMATS.trackerId);
    t.strictSame(body.value, { ...CGUARD_DEFAULTS, mode: 'TRACKER' }, 'defaults plus mode');

    for (const bad of ['24:00', '7:30', '07:60', '07:30:00', '0730', '', 730]) {
      await rejects(t, FORMATS, { wakeup_time: bad }, ['wakeup_time'], `HH:mm given ${JSON.stringify(bad)}`);
    }
    await accepts(t, FORMATS.trackerId, { wakeup_time: '23:59' }, 'HH:mm 23:59');
    await accepts(t, FORMATS.trackerId, { wakeup_time: '00:00' }, 'HH:mm 00:00');

    await rejects(t, FORMATS, { mode: 'ASSET' }, ['moving_detection'], 'required_if: mode ASSET needs moving_detection');
    await rejects(t, FORMATS, { mode: 'ASSET', moving_detection: 'yes' }, ['moving_detection'], 'boolean given a string');
    await rejects(t, FORMATS, { mode: 'asset', moving_detection: true }, ['mode'], 'enum case');
    const v4 = await accepts(t, FORMATS.trackerId, { mode: 'ASSET', moving_detection: false }, 'required_if satisfied');
    t.equal(v4.version, 4);
    body = await read(t, FORMATS.trackerId);
    t.strictSame(body.value, { ...CGUARD_DEFAULTS, mode: 'ASSET', wakeup_time: '00:00', moving_detection: false });
    await rejects(t, FORMATS, { wakeup_period: 14 }, ['wakeup_period'], 'below min');
    await rejects(t, FORMATS, { tracking_angle: 181, psm_interval: -1 }, ['tracking_angle', 'psm_interval'], 'two ranges');
  });

  t.test('jointech_jt703: an array of HH:mm:ss', async (t) => {
    const timers = (n: number) => Array.from({ length: n }, (_, i) => `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:00`);
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: [] }, ['wakeup_timers'], 'below minItems');
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: timers(49) }, ['wakeup_timers'], 'above maxItems');
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: ['10:00'] }, ['wakeup_timers'], 'item not HH:mm:ss');
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: ['10:00:00', '24:00:00'] }, ['wakeup_timers'], 'second item out of range');
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: ['10:00:00', 36000] }, ['wakeup_timers'], 'item of the wrong type');
    await rejects(t, ARRAYS, { ...VALID_JT703, wakeup_timers: '10:00:00' }, ['wakeup_timers'], 'not an array');
    await rejects(t, ARRAYS, { ...VALID_JT703, sleep_mode: 'soft_sleep' }, ['sleep_mode'], 'enum of this profile');
    await rejects(t, ARRAYS, { ...VALID_JT703, sleep_time_in_minutes: 9 }, ['sleep_time_in_minutes'], 'optional field still checked');
    await rejects(t, ARRAYS, { wakeup_timers: ['10:00:00'] }, ['tracking_interval', 'sleep_mode'], 'required fields missing');

    await accepts(t, ARRAYS.trackerId, VALID_JT703, 'optional fields may be absent');
    let body = await read(t, ARRAYS.trackerId);
    t.strictSame(body.value, VALID_JT703);
    await accepts(t, ARRAYS.trackerId, { wakeup_timers: ['10:00:00', '16:00:00'], sleep_time_in_minutes: '60' }, 'two timers');
    body = await read(t, ARRAYS.trackerId);
    t.strictSame(body.value, { ...VALID_JT703, wakeup_timers: ['10:00:00', '16:00:00'], sleep_time_in_minutes: 60 });
    await accepts(t, ARRAYS.trackerId, { wakeup_timers: timers(48) }, '48 timers (maxItems)');
    body = await read(t, ARRAYS.trackerId);
    t.strictSame(body.value.wakeup_timers, timers(48), 'an array replaces, never merges');
    await accepts(t, ARRAYS.trackerId, { wakeup_timers: ['23:59:59'] }, 'one timer (minItems)');
    body = await read(t, ARRAYS.trackerId);
    t.strictSame(body.value.wakeup_timers, ['23:59:59'], 'the shorter array replaces the longer');
    t.equal(body.sync.version, 4);
  });

  t.test('versions count per device', async (t) => {
    // every device above counted its own versions from 1; a fresh one still reads version 0
    const other = await read(t, TELFM.trackerId);
    const tramigo = await read(t, NUMBERS.trackerId);
    t.equal(other.sync.version, 4, 'telfm at 4');
    t.equal(tramigo.sync.version, 3, 'tramigo at 3');
  });

  // A "__proto__" key in tracking_settings sent as JSON text (GET, form) would set the prototype of a
  // copied object and vanish: the text is refused as a whole instead.
  t.test('"__proto__" in tracking_settings JSON text is refused, nothing stored', async (t) => {
    const before = await read(t, TELFM.trackerId);
    const answer = await form(url, UPDATE, { hash, tracker_id: String(TELFM.trackerId), tracking_settings: '{"__proto__": {"tracking_interval": 90}}' });
    expectError(t, answer, 'invalidParameters', ['tracking_settings'], '__proto__');
    t.strictSame(await read(t, TELFM.trackerId), before, 'no new version');
    t.equal(({} as Record<string, unknown>).tracking_interval, undefined, 'no prototype pollution');
  });

  t.test('"__proto__" never pollutes', async (t) => {
    await form(url, UPDATE, { hash, tracker_id: String(TELFM.trackerId), tracking_settings: '{"__proto__": {"polluted": 1}}' });
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    const body = await read(t, TELFM.trackerId);
    t.notOk('polluted' in body.value, 'not stored');
    // a JSON body with "__proto__" is refused before anything else
    const raw = await post(url, UPDATE, `{"hash": "${hash}", "tracker_id": 1001, "tracking_settings": {"__proto__": {"polluted": 1}}}`);
    t.equal(raw.status, 400, 'refused');
    t.not(raw.body.success, true, 'not accepted');
  });
});
