/**
 * Generated bad input over the whole HTTP surface (docs/reliability.md#3-generated-bad-input), with fast-check: random paths under
 * the known actions and elsewhere, methods, content types, encodings, query strings, bodies (JSON of
 * any nesting, unicode, huge numbers, arrays, bytes that are not UTF-8), credentials in every place.
 * Properties of every answer: never a 5xx; always JSON with the security headers; the Navixy envelope
 * (`success` boolean; on error a registry code with its HTTP status); and a request that is not an
 * accepted update changes no stored settings or sync row (an accepted one adds exactly one version).
 * In-process through fastify's inject, plus a smaller run of raw bytes over a real socket.
 *
 * CI: seed 5150, 3,000 requests + 300 raw. TRACKCONF_LONG_TESTS=1: 100,000 + 5,000.
 * Knobs: TRACKCONF_FUZZ_SEED, TRACKCONF_FUZZ_RUNS, TRACKCONF_FUZZ_RAW_RUNS.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { Errors } from '../../src/errors.js';
import { ALICE, ARRAYS, BOB, CLONE_ID, FORMATS, NO_PROFILE, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT, UNKNOWN_HASH } from '../helpers/http.js';
import { knob } from '../helpers/service.js';
import { startTestServer } from '../helpers/server.js';

const SEED = knob('TRACKCONF_FUZZ_SEED', 5150, 5150);
const RUNS = knob('TRACKCONF_FUZZ_RUNS', 3_000, 100_000);
const RAW_RUNS = knob('TRACKCONF_FUZZ_RAW_RUNS', 300, 5_000);

t.setTimeout(60_000 + RUNS * 20 + RAW_RUNS * 50);

/** fc.check with the fixed seed; a failure is reported with a short counterexample (they can be huge). */
async function check<T>(t: Test, property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  const result = await fc.check(property, { seed: SEED, numRuns, endOnFailure: true });
  if (!result.failed) return;
  const example = JSON.stringify(result.counterexample, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…(${v.length} chars)` : v,
  );
  t.fail(`property failed (seed ${SEED}, path ${result.counterexamplePath}): ${String(result.errorInstance)}; counterexample ${example.slice(0, 2000)}`);
}

const BY_CODE = new Map(Object.values(Errors).map((e) => [e.code, e]));
const ACTIONS = [
  'user/auth',
  'user/logout',
  'user/session/renew',
  'user/get_info',
  'tracker/list',
  'tracker/read',
  'tracker/group/list',
  'tracker/settings/tracking/read',
  'tracker/settings/tracking/update',
];
const TRACKER_IDS = [TELFM, ARRAYS, NUMBERS, FORMATS, NO_PROFILE].map((d) => d.trackerId).concat([1003, CLONE_ID, 999_999]);
const FIELDS = [...Object.keys(VALID_TELFM), 'wakeup_timers', 'sleep_time_in_minutes', 'tracking_time', '__proto__', 'constructor'];

/** Values of any type a client might send for a parameter. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom('1e3', '0x1F', '123456', '-1', '0', '1.5', ' 42', '9'.repeat(400), 'NaN', 'Infinity', '', '\u0000', '٣٤'),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 1, max: 400 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
);

const hash = fc.oneof(
  fc.constantFrom(ALICE.apiKey, ALICE.apiKey, BOB.apiKey, UNKNOWN_HASH, ALICE.apiKey.toUpperCase(), ` ${ALICE.apiKey}`, ''),
  fc.stringMatching(/^[0-9a-f]{32}$/),
  anyValue,
);
const trackerId = fc.oneof(fc.constantFrom(...TRACKER_IDS), fc.constantFrom(...TRACKER_IDS).map(String), anyValue);
const settingsObject = fc.oneof(
  fc.record(
    Object.fromEntries(
      FIELDS.map((f) => [f, fc.oneof(anyValue, fc.integer({ min: 0, max: 70_000 }), fc.constantFrom('disabled', 'soft_sleep', 'gps', 'ignition'))]),
    ),
    { requiredKeys: [] },
  ),
  fc.constant({ ...VALID_TELFM }),
  fc.record({ tracking_interval: fc.integer({ min: -10, max: 300 }) }),
  fc.dictionary(fc.string({ maxLength: 10 }), anyValue, { maxKeys: 8 }),
);
const trackingSettings = fc.oneof(
  settingsObject,
  settingsObject.map((s) => JSON.stringify(s)),
  anyValue,
);

const params = fc.record(
  {
    hash,
    tracker_id: trackerId,
    tracking_settings: trackingSettings,
    login: fc.oneof(fc.constantFrom(ALICE.login, 'nobody@example.com'), anyValue),
    password: anyValue,
    labels: fc.oneof(
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }).map((labels) => JSON.stringify(labels)),
      anyValue,
    ),
    extra: anyValue,
  },
  { requiredKeys: [] },
);

const path = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom('/', '/v2/', '//', '/V2/'), fc.constantFrom(...ACTIONS), fc.constantFrom('', '/', '//', '?', '/x', '%20'))
      .map(([a, b, c]) => a + b + c),
  },
  { weight: 1, arbitrary: fc.webPath().map((w) => (w.startsWith('/') ? w : `/${w}`)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((s) => `/${encodeURIComponent(s)}`) },
  { weight: 1, arbitrary: fc.constantFrom('/health', '/', '/v2', '/%', '/%zz', '/tracker/../user/auth', '/tracker%2Flist', `/${'a/'.repeat(500)}`) },
);
const method = fc.constantFrom('GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'application/JSON',
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded; charset=utf-8',
    'text/plain',
    'multipart/form-data; boundary=xyz',
    'application/octet-stream',
    '',
  ),
  fc.string({ maxLength: 30 }),
);

function form(value: Record<string, unknown>): string {
  return new URLSearchParams(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')])).toString();
}

/** The body bytes: JSON of the params, a form, broken JSON, deep nesting, huge numbers, non-UTF-8. */
const body = fc.oneof(
  { weight: 5, arbitrary: params.map((p) => JSON.stringify(p)) },
  { weight: 3, arbitrary: params.map(form) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((d) => '['.repeat(d) + ']'.repeat(d)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"tracker_id": 1e400}',
      `{"tracker_id": ${'9'.repeat(5000)}}`,
      '{"hash": "\\ud800"}',
      '{"__proto__": {"x": 1}}',
      '{"constructor": {"prototype": {}}}',
      '{',
      'null',
      '"x"',
      '[]',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 200 }) },
);

const query = fc.oneof(
  fc.constant(''),
  params.map((p) => `?${form(p)}`),
  fc.string({ maxLength: 40 }).map((s) => `?${s}`),
);
const authorization = fc.option(
  fc.oneof(
    fc.constant(`NVX ${ALICE.apiKey}`),
    fc.constant(`NVX ${UNKNOWN_HASH}`),
    hash.map((h) => `NVX ${typeof h === 'string' ? h : JSON.stringify(h)}`),
    fc.string({ maxLength: 40 }),
  ),
  { nil: undefined },
);

interface Request {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly payload?: string | Buffer;
}

/** Anything: method, path, query, content type, body and headers drawn independently. */
const chaotic: fc.Arbitrary<Request> = fc
  .tuple(method, path, query, contentType, body, authorization, fc.boolean())
  .map(([m, p, q, type, payload, auth, chunked]) => {
    const headers: Record<string, string> = {};
    if (type !== '') headers['content-type'] = type;
    if (auth !== undefined) headers.authorization = auth;
    if (chunked) headers['transfer-encoding'] = 'chunked';
    return { method: m, url: p + q, headers, ...(m !== 'GET' && m !== 'HEAD' && { payload }) };
  });

/** Settings one or two mutations away from valid (so validation, merging and storing are reached). */
const nearValidSettings = fc.oneof(
  fc.record(
    Object.fromEntries(
      Object.entries(VALID_TELFM).map(([k, v]) => [
        k,
        fc.oneof(
          { weight: 4, arbitrary: fc.constant(v) },
          { weight: 1, arbitrary: anyValue },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map(String) },
        ),
      ]),
    ),
    { requiredKeys: [] },
  ),
  fc.tuple(fc.string({ maxLength: 12 }), anyValue).map(([k, v]) => ({ ...VALID_TELFM, [k]: v })),
);

/** Well-formed calls with plausible parameters, in each of the three encodings. */
const plausible: fc.Arbitrary<Request> = fc
  .tuple(
    fc.constantFrom('', '/v2'),
    fc.constantFrom(...ACTIONS.filter((a) => a !== 'user/auth'), 'tracker/settings/tracking/update', 'tracker/settings/tracking/update'),
    fc.constantFrom('', '/'),
    fc.oneof({ weight: 6, arbitrary: fc.constant(ALICE.apiKey) }, { weight: 1, arbitrary: fc.constant(BOB.apiKey) }, { weight: 1, arbitrary: hash }),
    fc.oneof({ weight: 4, arbitrary: fc.constantFrom(TELFM.trackerId, String(TELFM.trackerId)) }, { weight: 2, arbitrary: trackerId }),
    fc.oneof({ weight: 4, arbitrary: nearValidSettings }, { weight: 1, arbitrary: trackingSettings }),
    fc.constantFrom('json', 'form', 'query'),
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: params }),
  )
  .map(([prefix, action, slash, h, id, settings, encoding, extra]): Request => {
    const all = { ...extra, hash: h, tracker_id: id, tracking_settings: settings };
    const url = `${prefix}/${action}${slash}`;
    if (encoding === 'query') return { method: 'GET', url: `${url}?${form(all)}`, headers: {} };
    if (encoding === 'form') return { method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(all) };
    return { method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(all) };
  });

/** user/auth, rarely (each unknown login costs a scrypt). */
const auth: fc.Arbitrary<Request> = fc
  .record({
    login: fc.oneof(fc.constantFrom(ALICE.login, ALICE.login.toUpperCase(), 'nobody@example.com'), anyValue),
    password: fc.oneof(fc.constant(ALICE.password), anyValue),
  })
  .map((p) => ({ method: 'POST', url: '/user/auth', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(p) }));

const request = fc.oneof({ weight: 10, arbitrary: plausible }, { weight: 10, arbitrary: chaotic }, { weight: 1, arbitrary: auth });

t.test(`HTTP surface: ${RUNS} generated requests (seed ${SEED})`, async (t) => {
  const { server } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, login: { maxFailures: 1_000_000, windowSeconds: 1 } } });
  const snapshot = server.store.db.prepare<[], { s: string | null }>(
    `SELECT (SELECT group_concat(device || ':' || version || ':' || state || ':' || coalesce(settings, ''), '|') FROM device_sync)
       || '#' || (SELECT count(*) FROM settings_versions) AS s`,
  );
  const versions = server.store.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM settings_versions');
  const stats = { requests: 0, success: 0, updates: 0, codes: new Map<number, number>() };

  await check(
    t,
    fc.asyncProperty(request, async (req) => {
      const before = snapshot.get()!.s;
      const countBefore = versions.get()!.n;
      const m = req.method;
      const p = req.url;
      const res = await server.http.inject({ method: m as 'GET', url: p, headers: req.headers, ...(req.payload !== undefined && { payload: req.payload }) });
      stats.requests++;
      if (res.statusCode >= 500) throw new Error(`HTTP ${res.statusCode}: ${res.body}`);
      if (res.headers['x-content-type-options'] !== 'nosniff') throw new Error('security headers missing');
      if (res.headers['access-control-allow-origin'] !== '*') throw new Error('CORS header missing');
      if (m === 'OPTIONS' && res.statusCode === 204) {
        // A preflight: no body, and it ran nothing.
        if (res.body !== '' || res.headers['access-control-allow-methods'] !== 'GET, POST')
          throw new Error(`preflight: ${JSON.stringify(res.headers)} ${res.body}`);
        if (snapshot.get()!.s !== before) throw new Error(`OPTIONS changed settings: ${p}`);
        return;
      }
      if (!String(res.headers['content-type'] ?? '').startsWith('application/json')) throw new Error(`content-type ${String(res.headers['content-type'])}`);
      if (m === 'HEAD') {
        if (snapshot.get()!.s !== before) throw new Error(`HEAD changed settings: ${p}`);
        return;
      }
      const answer = JSON.parse(res.body) as { success?: unknown; status?: unknown; sync?: { version: number } };
      if (p.split('?')[0] === '/health') return;
      if (typeof answer.success !== 'boolean') throw new Error(`no success flag: ${res.body}`);
      const isUpdate = answer.success && answer.sync !== undefined && /settings\/tracking\/update/.test(p);
      if (answer.success) {
        stats.success++;
        if (res.statusCode !== 200) throw new Error(`success with HTTP ${res.statusCode}`);
      } else {
        const status = answer.status as { code?: unknown; description?: unknown } | undefined;
        const def = BY_CODE.get(status?.code as number);
        if (!def) throw new Error(`unknown error code: ${res.body}`);
        if (def.http !== res.statusCode || def.description !== status?.description) throw new Error(`code ${def.code} with HTTP ${res.statusCode}`);
        stats.codes.set(def.code, (stats.codes.get(def.code) ?? 0) + 1);
      }
      if (isUpdate) {
        stats.updates++;
        if (versions.get()!.n !== countBefore + 1) throw new Error('an accepted update did not add exactly one version');
      } else if (snapshot.get()!.s !== before) throw new Error(`a request that was not an accepted update changed settings: ${m} ${p} → ${res.body}`);
    }),
    RUNS,
  );
  t.pass(`${stats.requests} requests: no 5xx, always the Navixy envelope, nothing changed by a refused request`);
  t.ok(stats.updates > 0 && stats.success > stats.updates, `the generator reaches accepted calls too (${stats.success} successes, ${stats.updates} updates)`);
  t.ok(stats.codes.size >= 8, `and many different refusals (${[...stats.codes.keys()].sort((a, b) => a - b).join(', ')})`);
  t.comment(
    `http fuzz figures: seed=${SEED} requests=${stats.requests} success=${stats.success} updates=${stats.updates} codes=${JSON.stringify(Object.fromEntries(stats.codes))}`,
  );
});

/** Raw bytes over a real socket: node's HTTP parser and fastify's client-error path. */
function exchange(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
    // The request ends with our FIN: the server answers what it can and closes. A deadline, not a
    // wait for "no answer": a connection the server still holds open after it fails the property.
    socket.setTimeout(15_000, () => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within 15 s: ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`));
    });
    socket.end(bytes);
  });
}

const requestLine = fc.tuple(
  fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'G E T', '', 'POST\u0000'), fc.string({ maxLength: 8 })),
  fc.oneof(fc.constantFrom('/user/auth', '/tracker/list', '/health', '*', 'http://x/', ''), fc.string({ maxLength: 50 })),
  fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'HTTP/1.1 extra', ''),
);
const headerLines = fc.array(
  fc.oneof(
    fc.constantFrom(
      'Host: 127.0.0.1',
      'Content-Length: 5',
      'Content-Length: -1',
      'Content-Length: 99999999999999999999',
      'Content-Length: 5\r\nContent-Length: 6',
      'Transfer-Encoding: chunked',
      'Transfer-Encoding: gzip, chunked',
      'Content-Type: application/json',
      `Authorization: NVX ${ALICE.apiKey}`,
      `X-Big: ${'a'.repeat(20_000)}`,
      'Bad Header: x',
      ': empty',
      'Expect: 100-continue',
    ),
    fc.string({ maxLength: 60 }),
  ),
  { maxLength: 6 },
);
const rawBody = fc.oneof(fc.constantFrom('', '{"hash":"x"}', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\nxx\r\n', '0\r\n\r\n'), fc.string({ maxLength: 100 }));

t.test(`raw HTTP bytes: ${RAW_RUNS} generated requests over a socket (seed ${SEED})`, async (t) => {
  const { server, url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const port = server.ports.http;
  const statuses = new Map<string, number>();
  await check(
    t,
    fc.asyncProperty(
      requestLine,
      headerLines,
      rawBody,
      fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
      async ([m, p, v], headers, b, junk) => {
        const bytes = junk ? Buffer.from(junk) : Buffer.from(`${m} ${p} ${v}\r\n${headers.join('\r\n')}\r\n\r\n${b}`, 'latin1');
        const text = await exchange(port, bytes);
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 'closed';
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status.startsWith('5')) throw new Error(`HTTP ${status} for ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}: ${text.slice(0, 300)}`);
        if (status === 'closed') return;
        const [head = '', answer = ''] = text.split('\r\n\r\n', 2);
        if (!/x-content-type-options: nosniff/i.test(head)) throw new Error(`no security headers: ${head}`);
        const envelope = JSON.parse(answer) as { success?: unknown; status?: { code?: unknown } };
        if (typeof envelope.success !== 'boolean' || (!envelope.success && !BY_CODE.has(envelope.status?.code as number)))
          throw new Error(`not the Navixy envelope: ${answer}`);
      },
    ),
    RAW_RUNS,
  );
  const health = await fetch(`${url}/health`);
  t.equal(health.status, 200, 'the service is still up');
  t.comment(`raw http fuzz figures: seed=${SEED} requests=${RAW_RUNS} statuses=${JSON.stringify(Object.fromEntries(statuses))}`);
});
