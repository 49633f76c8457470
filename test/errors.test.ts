import { readFileSync } from 'node:fs';
import t from 'tap';
import { Errors } from '../src/errors.js';

/** docs/errors.md and the registry in src/errors.ts must say the same thing. */
t.test('docs/errors.md lists exactly the registry', async (t) => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| (\d+) \| ([^|]+?) \| (\d{3}) \|/gm)].map((m) => ({
    code: Number(m[1]),
    description: m[2]!.trim(),
    http: Number(m[3]),
  }));
  const registry = Object.values(Errors)
    .map(({ code, description, http }) => ({ code, description, http }))
    .sort((a, b) => a.code - b.code);
  t.same(rows, registry);
});

t.test('the registry holds each code of docs/errors.md once', async (t) => {
  const codes = Object.values(Errors).map((e) => e.code);
  t.same(codes, [...new Set(codes)], 'no duplicate code');
  t.same(
    [...codes].sort((a, b) => a - b),
    [1, 3, 4, 5, 6, 7, 9, 13, 15, 102, 105, 111, 201, 208, 214, 219, 1001],
  );
  for (const e of Object.values(Errors)) t.ok(e.http >= 400 && e.http < 600, `${e.code} maps to an error status`);
});
