import t from 'tap';
import fc from 'fast-check';
import type { ValidationResult } from '../../src/profiles/index.js';
import { compileTest } from './fixtures/helpers.js';

const p = compileTest();
const BASE = { interval: 60 } as const;

/** The error for `field` when validating BASE plus `patch`, or undefined when the field is accepted. */
function errorOf(field: string, value: unknown): string | undefined {
  const r = p.validate({ ...BASE, [field]: value });
  if (r.ok) return undefined;
  return r.errors.find((e) => e.field === field)?.error ?? `other error: ${JSON.stringify(r.errors)}`;
}

function okValue(r: ValidationResult): Record<string, unknown> {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.errors)}`);
  return r.value;
}

t.test('integer: type, numeric strings, range', async (t) => {
  t.same(okValue(p.validate({ interval: 30 })), { interval: 30 }, 'min is inclusive');
  t.same(okValue(p.validate({ interval: 255 })), { interval: 255 }, 'max is inclusive');
  t.same(okValue(p.validate({ interval: '42' })), { interval: 42 }, 'decimal string converted to a number');
  t.equal(typeof okValue(p.validate({ interval: '42' })).interval, 'number');
  for (const bad of [
    29,
    256,
    '29',
    '256',
    1.5,
    '60.0',
    '1e3',
    '0x1F',
    'abc',
    '',
    ' 60',
    '60 ',
    '+60',
    '6 0',
    NaN,
    Infinity,
    -Infinity,
    true,
    null,
    [60],
    { v: 60 },
  ]) {
    t.equal(errorOf('interval', bad), 'must be an integer between 30 and 255', `rejects ${JSON.stringify(bad) ?? String(bad)}`);
  }
  t.same(okValue(p.validate({ ...BASE, at_least: '15' })), { ...BASE, at_least: 15 });
  t.equal(errorOf('at_least', 14), 'must be an integer of at least 15');
  for (const bad of ['1e3', '0x1F', '0b11111', '1.5', ' 20', '20 ', '２０', '1_000']) {
    t.equal(errorOf('at_least', bad), 'must be an integer of at least 15', `rejects ${JSON.stringify(bad)} even without a max`);
  }
  t.same(okValue(p.validate({ ...BASE, at_least: '0100' })), { ...BASE, at_least: 100 }, 'leading zeros are plain decimal');
  t.equal(errorOf('at_least', '99999999999999999999'), 'must be an integer of at least 15', 'unsafe integers rejected');
  t.equal(errorOf('at_least', 2 ** 53), 'must be an integer of at least 15');
  t.equal(errorOf('at_least', '1'.repeat(40)), 'must be an integer of at least 15', 'overlong numeric text rejected');
});

t.test('integer with an allowed set', async (t) => {
  t.same(okValue(p.validate({ ...BASE, level: '2' })), { ...BASE, level: 2 });
  t.equal(errorOf('level', 3), 'must be one of: 0, 1, 2');
  t.equal(errorOf('level', '-1'), 'must be one of: 0, 1, 2');
  t.same(okValue(p.validate({ ...BASE, level: '-0' })), { ...BASE, level: 0 });
  t.ok(Object.is(okValue(p.validate({ ...BASE, level: -0 })).level, 0), '-0 normalized to 0');
});

t.test('number: decimals, strings, range', async (t) => {
  t.same(okValue(p.validate({ ...BASE, distance: 0.5 })), { ...BASE, distance: 0.5 });
  t.same(okValue(p.validate({ ...BASE, distance: '0.75' })), { ...BASE, distance: 0.75 });
  t.same(okValue(p.validate({ ...BASE, distance: '20' })), { ...BASE, distance: 20 });
  t.same(okValue(p.validate({ ...BASE, distance: 20 })), { ...BASE, distance: 20 });
  for (const bad of [0.49, 20.01, '20.01', '1e1', '0x1F', '.5', '5.', '1,5', 'abc', '', NaN, Infinity, false]) {
    t.equal(errorOf('distance', bad), 'must be a number between 0.5 and 20', `rejects ${String(bad)}`);
  }
});

t.test('enum: exactly one of the values', async (t) => {
  t.same(okValue(p.validate({ ...BASE, sleep: 'soft_sleep' })), { ...BASE, sleep: 'soft_sleep' });
  for (const bad of ['Disabled', 'disabled ', '', 0, true, null, ['disabled']]) {
    t.equal(errorOf('sleep', bad), 'must be one of: disabled, soft_sleep', `rejects ${JSON.stringify(bad)}`);
  }
});

t.test('boolean: true/false only', async (t) => {
  t.same(okValue(p.validate({ ...BASE, flag: false })), { ...BASE, flag: false });
  for (const bad of ['true', 'false', 1, 0, null]) t.equal(errorOf('flag', bad), 'must be true or false');
});

t.test('string formats with real ranges', async (t) => {
  const cases: [string, string[], unknown[], string][] = [
    ['hm', ['00:00', '23:59', '09:05'], ['24:00', '23:60', '9:00', '09:0', '0900', ' 09:00', '09:00 ', '09:00:00', 900], 'must match HH:mm (00:00-23:59)'],
    ['hms', ['00:00:00', '23:59:59'], ['23:59:60', '24:00:00', '10:00', '1:00:00'], 'must match HH:mm:ss (00:00:00-23:59:59)'],
    ['hhmm', ['0000', '2359', '0930'], ['2400', '1260', '12:00', '930', 1200], 'must match HHMM (0000-2359)'],
    [
      'stamp',
      ['2024-02-29 12:00:00', '2000-02-29 00:00:00', '2020-09-16 03:17:26', '2023-12-31 23:59:59'],
      [
        '2023-02-29 12:00:00',
        '1900-02-29 12:00:00',
        '2024-13-01 00:00:00',
        '2024-00-10 00:00:00',
        '2024-04-31 00:00:00',
        '2024-01-00 00:00:00',
        '0000-01-01 00:00:00',
        '2024-01-01T00:00:00',
        '2024-01-01 24:00:00',
        '2024-1-01 00:00:00',
        '2024-01-01',
      ],
      'must match yyyy-MM-dd HH:mm:ss (a real date and time)',
    ],
  ];
  for (const [field, good, bad, message] of cases) {
    for (const v of good) t.same(okValue(p.validate({ ...BASE, [field]: v })), { ...BASE, [field]: v }, `${field} accepts ${v}`);
    for (const v of bad) t.equal(errorOf(field, v), message, `${field} rejects ${JSON.stringify(v)}`);
  }
});

t.test('plain strings are capped', async (t) => {
  t.same(okValue(p.validate({ ...BASE, text: 'x'.repeat(256) })), { ...BASE, text: 'x'.repeat(256) });
  t.equal(errorOf('text', 'x'.repeat(257)), 'must be a string of at most 256 characters');
  t.equal(errorOf('text', 1.5), 'must be a string of at most 256 characters');
});

t.test('arrays: items and length', async (t) => {
  t.same(okValue(p.validate({ ...BASE, timers: ['10:00:00', '16:00:00'] })), { ...BASE, timers: ['10:00:00', '16:00:00'] });
  const listRule = 'must be a list of 1 to 3 items; each item must match HH:mm:ss (00:00:00-23:59:59)';
  t.equal(errorOf('timers', []), listRule, 'minItems');
  t.equal(errorOf('timers', ['01:00:00', '02:00:00', '03:00:00', '04:00:00']), listRule, 'maxItems');
  t.equal(errorOf('timers', '10:00:00'), listRule, 'not an array');
  t.equal(errorOf('timers', ['10:00:00', '25:00:00']), 'item 2 must match HH:mm:ss (00:00:00-23:59:59)');
  t.equal(errorOf('timers', [36000]), 'item 1 must match HH:mm:ss (00:00:00-23:59:59)');
});

t.test('required and required_if', async (t) => {
  t.same(p.validate({}), { ok: false, errors: [{ field: 'interval', error: 'is required' }] });
  t.same(p.validate({ interval: undefined }), { ok: false, errors: [{ field: 'interval', error: 'is required' }] });
  t.same(p.validate({ ...BASE, mode: 'B' }), { ok: false, errors: [{ field: 'cond', error: 'is required when mode is B' }] });
  t.same(okValue(p.validate({ ...BASE, mode: 'B', cond: '3' })), { ...BASE, mode: 'B', cond: 3 });
  t.same(okValue(p.validate({ ...BASE, mode: 'A' })), { ...BASE, mode: 'A' }, 'condition not met');
  t.same(okValue(p.validate({ ...BASE })), { ...BASE }, 'condition field absent: defaults are not injected');
  t.equal(errorOf('cond', 11), 'must be an integer between 1 and 10', 'a present conditional field is still checked');
});

t.test('unknown fields', async (t) => {
  t.same(p.validate({ ...BASE, tracking_interval: 60 }), {
    ok: false,
    errors: [{ field: 'tracking_interval', error: 'is not a parameter of this tracking profile' }],
  });
  const hostile = JSON.parse('{"interval": 60, "__proto__": {"x": 1}, "constructor": 1}') as Record<string, unknown>;
  const r = p.validate(hostile);
  t.same(r.ok ? [] : r.errors.map((e) => e.field), ['__proto__', 'constructor']);
});

t.test('every bad field is reported, in profile order, unknown ones last', async (t) => {
  const r = p.validate({ bogus: 1, flag: 'yes', interval: '1e3', hm: '25:00', sleep: 'off', cond: 0, mode: 'B' });
  t.same(r, {
    ok: false,
    errors: [
      { field: 'interval', error: 'must be an integer between 30 and 255' },
      { field: 'sleep', error: 'must be one of: disabled, soft_sleep' },
      { field: 'flag', error: 'must be true or false' },
      { field: 'hm', error: 'must match HH:mm (00:00-23:59)' },
      { field: 'cond', error: 'must be an integer between 1 and 10' },
      { field: 'bogus', error: 'is not a parameter of this tracking profile' },
    ],
  });
  t.ok(!r.ok && Object.isFrozen(r.errors));
});

t.test('value: only given fields, normalized, frozen', async (t) => {
  const input = { interval: '60', distance: '1.5', mode: 'A', timers: ['10:00:00'] };
  const value = okValue(p.validate(input));
  t.same(value, { interval: 60, distance: 1.5, mode: 'A', timers: ['10:00:00'] });
  t.notOk('level' in value, 'no defaults injected');
  t.ok(Object.isFrozen(value));
  t.ok(Object.isFrozen(value.timers));
  t.equal(input.interval, '60', 'input untouched');
  t.notOk(Object.isFrozen(input.timers), 'input array not frozen');
});

t.test('non-object settings', async (t) => {
  for (const bad of [null, [], 'x', 5]) {
    t.same(p.validate(bad as never), { ok: false, errors: [{ field: '', error: 'must be an object' }] });
  }
});

t.test('sanitize keeps only known, individually valid fields', async (t) => {
  const out = p.sanitize({ interval: '60', distance: 99, sleep: 'soft_sleep', nope: 1, hm: '24:00', mode: 'B', timers: [] });
  t.same(out, { interval: 60, sleep: 'soft_sleep', mode: 'B' }, 'required_if and required are not applied');
  t.ok(Object.isFrozen(out));
  t.same(p.sanitize({}), {});
  for (const bad of [null, undefined, [], 'x']) t.same(p.sanitize(bad as never), {}, `never throws on ${String(bad)}`);
  const trap = new Proxy(
    { interval: 60 },
    {
      get: () => {
        throw new Error('boom');
      },
    },
  );
  t.doesNotThrow(() => p.sanitize(trap));
});

t.test('defaults are collected and frozen', async (t) => {
  t.same(p.defaults, { level: 0, mode: 'A', hm: '12:00' });
  t.ok(Object.isFrozen(p.defaults));
  t.ok(Object.isFrozen(p.fields.interval));
  t.same(compileTest({ fields: { x: { type: 'boolean', required: true } } } as never).defaults, {});
});

t.test('property: every integer in range is accepted as number and as text', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 30, max: 255 }), (n) => {
      const a = p.validate({ interval: n });
      const b = p.validate({ interval: String(n) });
      return a.ok && b.ok && a.value.interval === n && b.value.interval === n;
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), (h, m) => {
      const text = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
      return p.validate({ ...BASE, hm: text }).ok && !p.validate({ ...BASE, hm: text.replace(':', '') }).ok;
    }),
  );
  t.pass('properties hold');
});
