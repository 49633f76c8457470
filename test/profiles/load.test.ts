import t from 'tap';
import type { Test } from 'tap';
import { join } from 'node:path';
import { loadModels, loadProfiles, ProfileLoadError } from '../../src/profiles/index.js';
import { MODELS_FILE, PROFILE_DIR, readReference, SELF_CHECK_FAILURES, TEST_PROFILE } from './fixtures/helpers.js';
import { CGUARD_DEFAULTS } from '../helpers/fleet.js';

const registry = loadProfiles(PROFILE_DIR);

t.test('config/profiles loads 139 profiles', async (t) => {
  t.equal(registry.codes.length, 139);
  t.same(registry.codes, [...registry.codes].sort(), 'codes sorted');
  t.ok(Object.isFrozen(registry) && Object.isFrozen(registry.codes));
  t.equal(registry.get('telfm')?.code, 'telfm');
  t.equal(registry.get('nope'), undefined);
  t.equal(registry.get('constructor'), undefined);
  t.equal(registry.get('__proto__'), undefined);
});

t.test('config/models.json resolves', async (t) => {
  const models = loadModels(MODELS_FILE, registry);
  t.ok(Object.isFrozen(models));
  const codes = models.map((m) => m.code);
  t.same(codes, [...codes].sort(), 'sorted by code');
  t.equal(new Set(codes).size, codes.length, 'codes unique');
  for (const m of models) {
    if (m.trackingProfile !== null) t.ok(registry.get(m.trackingProfile), `${m.code} -> ${m.trackingProfile}`);
  }
  for (const code of registry.codes) {
    t.same(
      models.find((m) => m.code === code),
      { code, trackingProfile: code },
      `profile ${code} maps to itself`,
    );
  }
  t.same(
    models.find((m) => m.code === 'teltonika_fm5500'),
    { code: 'teltonika_fm5500', name: 'Teltonika FM5500', trackingProfile: 'telfm5x' },
  );
  t.same(models.find((m) => m.code === 'panic_button')?.trackingProfile, null);
  t.ok(models.filter((m) => m.trackingProfile === null).length >= 1, 'at least one model without a profile');
});

t.test('every example validates except the 4 documented contradictions', async (t) => {
  const failing: string[] = [];
  for (const code of registry.codes) {
    const profile = registry.get(code);
    if (profile === undefined) throw new Error(code);
    const r = profile.validate(profile.example);
    if (r.ok) {
      t.same(r.value, profile.example, `${code}: example normalizes to itself`);
    } else {
      t.equal(r.errors.length, 1, `${code}: exactly one bad field`);
      failing.push(...r.errors.map((e) => `${code}.${e.field}`));
    }
  }
  t.same(failing.sort(), SELF_CHECK_FAILURES);
});

const reference = readReference();
t.test(
  'the 4 contradictions are those the reference documents',
  {
    skip: reference === undefined && 'reference file not found (set TRACKCONF_PROFILE_REFERENCE)',
  },
  async (t) => {
    if (reference === undefined) return;
    const documented = reference.irregularities
      .filter((i) => i.why.includes('fails the self-check'))
      .map((i) => `${i.profile}.${i.field}`)
      .sort();
    t.equal(documented.length, 4);
    t.same(documented, SELF_CHECK_FAILURES);
  },
);

t.test('real profiles: messages and enum strings', async (t) => {
  const telfm = registry.get('telfm');
  const r = telfm?.validate({ ...telfm.example, tracking_interval: 20, sleep_mode: 'deep' });
  t.same(r, {
    ok: false,
    errors: [
      { field: 'tracking_interval', error: 'must be an integer between 30 and 255' },
      { field: 'sleep_mode', error: 'must be one of: disabled, soft_sleep' },
    ],
  });
  const yatut = registry.get('yatut_poisk');
  t.ok(yatut?.validate({ ...yatut.example, wakeup_period: '8' }).ok);
  t.same(
    yatut?.validate({ ...yatut.example, wakeup_period: 8 }),
    {
      ok: false,
      errors: [{ field: 'wakeup_period', error: 'must be one of: 8, 12, 24' }],
    },
    'enum values are strings: the number 8 is not "8"',
  );
  t.same(yatut?.defaults, { mode: 'DAILY', main_wakeup_time: '12:00', wakeup_period: '24', gps_determination_period: 0 });
  t.same(registry.get('cguard_asset')?.defaults, CGUARD_DEFAULTS);
  t.same(registry.get('telfm')?.defaults, {});
});

function expectLoadError(t: Test, dir: string, file: string, field: string | undefined, pattern: RegExp): void {
  try {
    loadProfiles(dir);
    t.fail('expected ProfileLoadError');
  } catch (err) {
    t.type(err, ProfileLoadError);
    const e = err as ProfileLoadError;
    t.equal(e.file, join(dir, file));
    t.equal(e.field, field);
    t.ok(e.message.startsWith(`${join(dir, file)}: ${field !== undefined ? `${field}: ` : ''}`), e.message);
    t.match(e.message, pattern);
  }
}

const clone = (): typeof TEST_PROFILE => structuredClone(TEST_PROFILE);
type Mutation = (p: Record<string, any>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
const broken: [string, Mutation, string, RegExp][] = [
  [
    'min given as a string',
    (p) => {
      p.fields.interval.min = '30';
    },
    'fields.interval.min',
    /expected number/,
  ],
  [
    'unknown type',
    (p) => {
      p.fields.interval.type = 'float';
    },
    'fields.interval.type',
    /Invalid option/,
  ],
  [
    'unknown format',
    (p) => {
      p.fields.hm.format = 'hh:mm';
    },
    'fields.hm.format',
    /Invalid option/,
  ],
  [
    'unknown key in a field',
    (p) => {
      p.fields.interval.maximum = 5;
    },
    'fields.interval.maximum',
    /unknown key/,
  ],
  [
    'unknown top-level key',
    (p) => {
      p.extra = 1;
    },
    'extra',
    /unknown key/,
  ],
  [
    'min > max',
    (p) => {
      p.fields.interval.min = 300;
    },
    'fields.interval.max',
    /less than min/,
  ],
  [
    'values of the wrong type',
    (p) => {
      p.fields.sleep.values = [1, 2];
    },
    'fields.sleep.values',
    /strings/,
  ],
  [
    'enum without values',
    (p) => {
      delete p.fields.sleep.values;
    },
    'fields.sleep.values',
    /required/,
  ],
  [
    'values outside the range',
    (p) => {
      p.fields.interval.values = [10, 60];
    },
    'fields.interval.values',
    /within min\/max/,
  ],
  [
    'invalid default',
    (p) => {
      p.fields.level.default = 5;
    },
    'fields.level.default',
    /not valid.*one of: 0, 1, 2/,
  ],
  [
    'numeric-string default',
    (p) => {
      p.fields.level.default = '1';
    },
    'fields.level.default',
    /not valid/,
  ],
  [
    'default not matching the format',
    (p) => {
      p.fields.hm.default = '25:00';
    },
    'fields.hm.default',
    /not valid/,
  ],
  [
    'required_if names a missing field',
    (p) => {
      p.fields.cond.required_if.field = 'ghost';
    },
    'fields.cond.required_if.field',
    /unknown field "ghost"/,
  ],
  [
    'required_if value not allowed',
    (p) => {
      p.fields.cond.required_if.equals = 'C';
    },
    'fields.cond.required_if.equals',
    /not a valid value of mode/,
  ],
  [
    'required_if on a required field',
    (p) => {
      p.fields.cond.required = true;
    },
    'fields.cond.required_if',
    /required/,
  ],
  [
    'min on a string field',
    (p) => {
      p.fields.text.min = 1;
    },
    'fields.text.min',
    /only integer and number/,
  ],
  [
    'fractional bound on an integer',
    (p) => {
      p.fields.interval.max = 25.5;
    },
    'fields.interval.max',
    /integer/,
  ],
  [
    'array without items',
    (p) => {
      delete p.fields.timers.items;
    },
    'fields.timers.items',
    /required/,
  ],
  [
    'bad field name',
    (p) => {
      p.fields['Bad-Name'] = { type: 'boolean', required: false };
    },
    'fields.Bad-Name',
    /invalid name/,
  ],
  [
    'reserved field name',
    (p) => {
      p.fields.constructor = { type: 'boolean', required: false };
    },
    'fields.constructor',
    /reserved/,
  ],
  [
    'example not an object',
    (p) => {
      p.example = [1];
    },
    'example',
    /expected record/,
  ],
  [
    'missing required key',
    (p) => {
      delete p.fields.interval.required;
    },
    'fields.interval.required',
    /expected boolean/,
  ],
];

t.test('broken profile files throw ProfileLoadError naming file and field', async (t) => {
  for (const [name, mutate, field, pattern] of broken) {
    t.test(name, async (t) => {
      const p = clone() as unknown as Record<string, unknown>;
      mutate(p);
      const dir = t.testdir({ 'test_all.json': JSON.stringify(p) });
      expectLoadError(t, dir, 'test_all.json', field, pattern);
    });
  }
  t.test('file name differs from code', async (t) => {
    const dir = t.testdir({ 'other.json': JSON.stringify(TEST_PROFILE) });
    expectLoadError(t, dir, 'other.json', 'code', /"test_all" does not match the file name/);
  });
  t.test('invalid JSON', async (t) => {
    const dir = t.testdir({ 'a_ok.json': JSON.stringify({ ...TEST_PROFILE, code: 'a_ok' }), 'test_all.json': '{"code": "test_all",' });
    expectLoadError(t, dir, 'test_all.json', undefined, /not valid JSON/);
  });
  t.test('missing directory', async (t) => {
    t.throws(() => loadProfiles(join(t.testdirName, 'nope')), ProfileLoadError);
  });
  t.test('a valid directory loads and ignores non-JSON files', async (t) => {
    const dir = t.testdir({ 'test_all.json': JSON.stringify(TEST_PROFILE), 'README.md': '# hi' });
    t.same(loadProfiles(dir).codes, ['test_all']);
  });
});

t.test('loadModels rejects bad entries, naming the entry', async (t) => {
  const profiles = loadProfiles(t.testdir({ 'test_all.json': JSON.stringify(TEST_PROFILE) }));
  const cases: [string, unknown, RegExp][] = [
    [
      'unknown profile',
      { models: [{ code: 'x1', tracking_profile: 'ghost' }] },
      /models\[0\]\.tracking_profile: unknown tracking profile "ghost" \(model "x1"\)/,
    ],
    [
      'duplicate code',
      {
        models: [
          { code: 'x1', tracking_profile: null },
          { code: 'x1', tracking_profile: null },
        ],
      },
      /models\[1\]\.code: duplicate/,
    ],
    ['profile code remapped', { models: [{ code: 'test_all', tracking_profile: null }] }, /models\[0\]\.code: .*maps to itself/],
    ['bad code', { models: [{ code: 'Bad Code', tracking_profile: null }] }, /models\[0\]\.code: /],
    ['unknown key', { models: [{ code: 'x1', tracking_profile: null, colour: 'red' }] }, /models\[0\]\.colour: unknown key/],
    ['not an object', [], /expected object/],
  ];
  for (const [name, content, pattern] of cases) {
    const file = join(t.testdir({ 'models.json': JSON.stringify(content) }), 'models.json');
    t.throws(() => loadModels(file, profiles), ProfileLoadError, name);
    t.throws(() => loadModels(file, profiles), { message: pattern }, name);
  }
  const file = join(
    t.testdir({
      'models.json': JSON.stringify({
        models: [
          { code: 'x1', name: 'X 1', tracking_profile: 'test_all' },
          { code: 'pb', tracking_profile: null },
        ],
      }),
    }),
    'models.json',
  );
  t.same(loadModels(file, profiles), [
    { code: 'pb', trackingProfile: null },
    { code: 'test_all', trackingProfile: 'test_all' },
    { code: 'x1', name: 'X 1', trackingProfile: 'test_all' },
  ]);
});
