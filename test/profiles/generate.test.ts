import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { GENERATOR, MODELS_FILE, PROFILE_DIR, readReference, REFERENCE } from './fixtures/helpers.js';

interface Generator {
  modelCode(name: string): string;
}
const { modelCode } = (await import(pathToFileURL(GENERATOR).href)) as Generator;
const reference = readReference();
const noReference = reference === undefined && `reference not found at ${REFERENCE} (set TRACKCONF_PROFILE_REFERENCE)`;

t.test('model codes', async (t) => {
  t.equal(modelCode('Teltonika FM5500'), 'teltonika_fm5500');
  t.equal(modelCode('АПК КОМ ASC-2 GLONASS/GPS'), 'apk_kom_asc_2_glonass_gps');
  t.equal(modelCode('СКАТ-Маяк'), 'skat_mayak');
  t.equal(modelCode('Albatross S8.5'), 'albatross_s8_5');
  t.equal(modelCode('  Kingneed T0024 / T4024 '), 'kingneed_t0024_t4024');
  t.equal(modelCode('fifotrack A600 (FW before V1.07)'), 'fifotrack_a600_fw_before_v1_07');
  t.equal(modelCode('TopFlyTech T8803+'), 'topflytech_t8803_plus', '"+" is spelled out');
  t.not(modelCode('TopFlyTech T8803+'), modelCode('TopFlyTech T8803'));
  t.equal(modelCode('Café Señor'), 'cafe_senor', 'diacritics stripped');
});

t.test('config/ is exactly the generator output for the reference', { skip: noReference }, async (t) => {
  if (reference === undefined) return;
  const out = t.testdir({ profiles: { 'stale.json': '{}' } });
  execFileSync(process.execPath, [GENERATOR, REFERENCE, out], { stdio: 'pipe' });
  const generated = readdirSync(join(out, 'profiles')).sort();
  t.same(generated, readdirSync(PROFILE_DIR).sort(), 'same file list (stale files removed)');
  t.equal(generated.length, Object.keys(reference.profiles).length);
  for (const name of generated) {
    t.equal(readFileSync(join(PROFILE_DIR, name), 'utf8'), readFileSync(join(out, 'profiles', name), 'utf8'), name);
  }
  t.equal(readFileSync(MODELS_FILE, 'utf8'), readFileSync(join(out, 'models.json'), 'utf8'), 'models.json');

  execFileSync(process.execPath, [GENERATOR, REFERENCE, out], { stdio: 'pipe' });
  t.equal(readFileSync(MODELS_FILE, 'utf8'), readFileSync(join(out, 'models.json'), 'utf8'), 'deterministic on re-run');
});

t.test('profile files copy every field fact of the reference', { skip: noReference }, async (t) => {
  if (reference === undefined) return;
  for (const [code, profile] of Object.entries(reference.profiles)) {
    const file = JSON.parse(readFileSync(join(PROFILE_DIR, `${code}.json`), 'utf8')) as Record<string, unknown>;
    t.same(file, { code, models: profile.models, fields: profile.fields, example: profile.example }, code);
  }
});

t.test('models.json', async (t) => {
  const doc = JSON.parse(readFileSync(MODELS_FILE, 'utf8')) as {
    models: { code: string; name?: string; tracking_profile: string | null; note?: string }[];
    skipped: { code: string; name: string; listed_in: string[]; note: string }[];
  };
  t.ok(
    doc.models.some((m) => m.tracking_profile === null),
    'a model without tracking profile',
  );
  t.same(
    doc.models.find((m) => m.code === 'panic_button'),
    { code: 'panic_button', name: 'Generic panic button (no tracking settings)', tracking_profile: null },
  );
  t.equal(doc.models.find((m) => m.code === 'obd_dongle_basic')?.tracking_profile, null);
  t.same(
    doc.models.map((m) => m.code),
    doc.models.map((m) => m.code).sort(),
    'sorted by code',
  );
  t.same(doc.models.find((m) => m.code === 'apk_kom_asc_2_glonass_gps')?.tracking_profile, 'apkcom');
  const xirgo = doc.models.find((m) => m.code === 'xirgo_xt_4850c');
  t.equal(xirgo?.tracking_profile, 'xirgo_48', 'more specific profile wins a fields tie');
  t.match(xirgo?.note, /also listed in profile xirgo; chose xirgo_48 because/);
  t.equal(doc.models.find((m) => m.code === 'eelink_gpt18')?.tracking_profile, 'eelink_v2', 'more fields wins');
  t.equal(doc.models.find((m) => m.code === 'skypatrol_tt8750_plus')?.tracking_profile, 'skypatrol_tt8750plus');
  t.equal(doc.models.find((m) => m.code === 'skypatrol_tt8750')?.tracking_profile, 'enfora');
  const profileCodes = new Set(readdirSync(PROFILE_DIR).map((n) => n.replace(/\.json$/, '')));
  t.notOk(
    doc.models.some((m) => profileCodes.has(m.code)),
    'no model code equals a profile code',
  );
  t.ok(doc.skipped.some((s) => s.code === 'megastek_mt100' && /also listed in profile megastek_mt/.test(s.note)));
  if (reference !== undefined) {
    const names = new Set(Object.values(reference.profiles).flatMap((p) => p.models));
    const accounted = new Set([...doc.models.map((m) => m.code), ...doc.skipped.map((s) => s.code)]);
    for (const name of names) t.ok(accounted.has(modelCode(name)), `${name} accounted for`);
  }
});
