#!/usr/bin/env node
// Generates config/profiles/<code>.json and config/models.json from the Navixy tracking-profile
// reference (see /work/shared/reference). Plain Node ESM, no dependencies, deterministic output.
//
// usage: node scripts/generate-profiles.mjs [reference.json] [outDir]
//   reference.json  default ../shared/reference/navixy-tracking-profiles.json
//   outDir          default config   (writes <outDir>/profiles/*.json and <outDir>/models.json)
//
// Model codes are derived from model names: lowercase, Cyrillic transliterated, Latin diacritics
// stripped, "+" spelled "plus" (Navixy's own convention, cf. profile skypatrol_tt8750plus; without
// it "TopFlyTech T8803" and "TopFlyTech T8803+" would collapse into one code), every run of other
// characters -> "_", leading/trailing "_" trimmed.
// When one derived code comes from two or more profiles, the winner is the profile with the most
// fields; tie -> the one listing fewer models (more specific); tie -> alphabetically first code.
import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CODE_RE = /^[a-z0-9][a-z0-9_]*$/;

const CYRILLIC = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'yo',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'y',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'yu',
  я: 'ya',
  і: 'i',
  ї: 'yi',
  є: 'ye',
  ґ: 'g',
};

export function modelCode(name) {
  const lower = name.toLowerCase().replace(/\+/g, ' plus ');
  let ascii = '';
  for (const ch of lower) ascii += CYRILLIC[ch] ?? ch;
  ascii = ascii.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return ascii.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

const json = (value) => `${JSON.stringify(value, null, 2)}\n`;
const byString = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function rank(profiles) {
  return (a, b) => {
    const pa = profiles[a],
      pb = profiles[b];
    const fields = Object.keys(pb.fields).length - Object.keys(pa.fields).length;
    if (fields !== 0) return fields;
    const models = pa.models.length - pb.models.length;
    return models !== 0 ? models : byString(a, b);
  };
}

function reason(profiles, chosen, others) {
  const n = (c) => Object.keys(profiles[c].fields).length;
  const m = (c) => profiles[c].models.length;
  if (others.every((o) => n(o) < n(chosen))) return `it has the most fields (${n(chosen)})`;
  if (others.every((o) => n(o) < n(chosen) || m(o) > m(chosen))) {
    return `it has the most fields (${n(chosen)}) and, among those, lists the fewest models (${m(chosen)}), so it is the more specific profile`;
  }
  return `profiles tie on fields (${n(chosen)}) and models (${m(chosen)}); alphabetically first code`;
}

/** Builds the models.json document from the reference profiles. */
export function buildModels(profiles) {
  const groups = new Map(); // derived code -> [{ name, profile }]
  for (const profile of Object.keys(profiles).sort(byString)) {
    for (const name of profiles[profile].models) {
      const code = modelCode(name);
      if (!CODE_RE.test(code)) throw new Error(`cannot derive a model code from "${name}"`);
      if (!groups.has(code)) groups.set(code, []);
      groups.get(code).push({ name, profile });
    }
  }
  const models = [
    { code: 'obd_dongle_basic', name: 'Generic OBD dongle, basic (no tracking settings)', tracking_profile: null },
    { code: 'panic_button', name: 'Generic panic button (no tracking settings)', tracking_profile: null },
  ];
  const skipped = [];
  for (const [code, sources] of groups) {
    if (models.some((m) => m.code === code)) throw new Error(`derived code ${code} clashes with a built-in model`);
    const candidates = [...new Set(sources.map((s) => s.profile))].sort(rank(profiles));
    const chosen = candidates[0];
    const others = candidates.slice(1);
    const names = [...new Set(sources.filter((s) => s.profile === chosen).map((s) => s.name))].sort(byString);
    const name = names[0];
    const notes = [];
    if (others.length > 0) {
      notes.push(`also listed in profile${others.length > 1 ? 's' : ''} ${others.join(', ')}; chose ${chosen} because ${reason(profiles, chosen, others)}`);
    }
    const otherNames = [...new Set(sources.map((s) => s.name))].filter((n) => n !== name).sort(byString);
    if (otherNames.length > 0) notes.push(`the name${otherNames.length > 1 ? 's' : ''} ${otherNames.map((n) => `"${n}"`).join(', ')} derive the same code`);
    if (profiles[code] !== undefined) {
      const why =
        code === chosen
          ? `the code equals its own profile code ${code}, which already maps to itself`
          : `the code equals the code of profile ${code}, which maps to itself (docs/provisioning.md#rules)`;
      skipped.push({ code, name, listed_in: candidates, note: [why, ...notes].join('; ') });
      continue;
    }
    const entry = { code, name, tracking_profile: chosen };
    if (notes.length > 0) entry.note = notes.join('; ');
    models.push(entry);
  }
  models.sort((a, b) => byString(a.code, b.code));
  skipped.sort((a, b) => byString(a.code, b.code));
  return { models, skipped };
}

/** Returns [relativePath, content] pairs for every generated file. */
export function generate(reference) {
  const profiles = reference?.profiles;
  if (profiles === null || typeof profiles !== 'object') throw new Error('reference has no "profiles" object');
  const files = [];
  for (const code of Object.keys(profiles).sort(byString)) {
    if (!CODE_RE.test(code)) throw new Error(`invalid profile code ${JSON.stringify(code)}`);
    const { models, fields, example } = profiles[code];
    if (!Array.isArray(models) || fields === null || typeof fields !== 'object' || example === null || typeof example !== 'object') {
      throw new Error(`profile ${code}: models, fields and example are required`);
    }
    files.push([`profiles/${code}.json`, json({ code, models, fields, example })]);
  }
  files.push(['models.json', json(buildModels(profiles))]);
  return files;
}

function main() {
  const refPath = process.argv[2] ?? '../shared/reference/navixy-tracking-profiles.json';
  const outDir = process.argv[3] ?? 'config';
  const files = generate(JSON.parse(readFileSync(refPath, 'utf8')));
  const profileDir = join(outDir, 'profiles');
  mkdirSync(profileDir, { recursive: true });
  const keep = new Set(files.map(([rel]) => rel));
  for (const name of readdirSync(profileDir)) {
    if (name.endsWith('.json') && !keep.has(`profiles/${name}`)) unlinkSync(join(profileDir, name));
  }
  for (const [rel, content] of files) writeFileSync(join(outDir, rel), content);
  process.stdout.write(`wrote ${files.length - 1} profiles and models.json to ${outDir}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
