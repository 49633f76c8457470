/**
 * What a client on another stack sends (docs/api.md#transport): a browser's CORS preflight and the
 * call after it from another origin; the same calls under `/`, `/v2/` and `/api-v2/`, with and
 * without a trailing slash, as POST JSON, POST form and GET; a configured list of origins.
 * Requests go through node:http, which sends Origin as given (fetch would not let a page set it).
 */
import { request } from 'node:http';
import t, { type Test } from 'tap';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ALICE, TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT, UNKNOWN_HASH } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly text: string;
}

function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method, headers: { ...headers, ...(body !== undefined && { 'content-length': String(Buffer.byteLength(body)) }) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const APP = 'https://app.example';
const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };
const BROWSER_PREFLIGHT = { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' };

/** A preflight's answer: 204, no body, GET and POST, Content-Type and Authorization by name, a max-age. */
function checkPreflight(t: Test, answer: Reply, what: string): void {
  t.equal(answer.status, 204, `${what}: 204`);
  t.equal(answer.text, '', `${what}: no body`);
  const methods = String(answer.headers['access-control-allow-methods']).split(/,\s*/);
  t.same(methods.sort(), ['GET', 'POST'], `${what}: Allow-Methods GET, POST`);
  // By name: `*` does not cover Authorization, and a browser would drop it.
  const allowed = String(answer.headers['access-control-allow-headers']).toLowerCase().split(/,\s*/);
  t.ok(allowed.includes('content-type') && allowed.includes('authorization'), `${what}: Allow-Headers names Content-Type and Authorization`);
  t.ok(Number(answer.headers['access-control-max-age']) > 0, `${what}: a max-age`);
  t.equal(answer.headers['access-control-allow-credentials'], undefined, `${what}: never Allow-Credentials`);
  t.equal(answer.headers['x-content-type-options'], 'nosniff', `${what}: security headers`);
}

t.test('a browser on another origin: preflight, then the call', async (t) => {
  const { url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const read = `/tracker/settings/tracking/read`;
  const preflight = await send(url, 'OPTIONS', read, BROWSER_PREFLIGHT);
  checkPreflight(t, preflight, 'preflight');
  t.equal(preflight.headers['access-control-allow-origin'], '*', 'preflight: Allow-Origin *');

  const call = await send(
    url,
    'POST',
    read,
    { ...JSON_TYPE, origin: APP, authorization: `NVX ${ALICE.apiKey}` },
    JSON.stringify({ tracker_id: TELFM.trackerId }),
  );
  t.equal(call.status, 200, 'the POST after it: 200');
  t.equal(call.headers['access-control-allow-origin'], '*', 'the POST: Allow-Origin *');
  t.equal(call.headers['access-control-allow-credentials'], undefined, 'the POST: no Allow-Credentials');
  t.equal((JSON.parse(call.text) as { success: boolean }).success, true, 'the POST: success');

  const refused = await send(url, 'POST', read, { ...JSON_TYPE, origin: APP }, JSON.stringify({ hash: UNKNOWN_HASH, tracker_id: TELFM.trackerId }));
  t.equal(refused.status, 400, 'an error answer');
  t.equal(refused.headers['access-control-allow-origin'], '*', 'an error answer has Allow-Origin too (the page can read the envelope)');

  // Any path, any prefix: the preflight answers 204 and runs nothing, the query string included.
  for (const path of [
    '/api-v2/tracker/list/',
    '/v2/user/auth',
    `/tracker/settings/tracking/update?hash=${ALICE.apiKey}&tracker_id=${TELFM.trackerId}&tracking_settings=%7B%7D`,
    '/nope',
  ]) {
    checkPreflight(t, await send(url, 'OPTIONS', path, BROWSER_PREFLIGHT), `preflight ${path}`);
  }
  const after = await send(url, 'GET', `/tracker/settings/tracking/read?hash=${ALICE.apiKey}&tracker_id=${TELFM.trackerId}`);
  t.equal((JSON.parse(after.text) as { sync: { version: number } }).sync.version, 0, 'the preflight of update created no version');
});

t.test('the same calls under every prefix, with and without a trailing slash, in every encoding', async (t) => {
  const { url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const calls: [string, Record<string, string>, (body: Record<string, unknown>) => boolean][] = [
    ['user/auth', { login: ALICE.login, password: ALICE.password }, (b) => typeof b.hash === 'string'],
    ['tracker/list', { hash: ALICE.apiKey }, (b) => Array.isArray(b.list) && b.list.length > 0],
    ['tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId) }, (b) => 'value' in b && 'sync' in b],
  ];
  for (const prefix of ['/', '/v2/', '/api-v2/']) {
    for (const slash of ['', '/']) {
      for (const [name, params, shaped] of calls) {
        const path = `${prefix}${name}${slash}`;
        const answers: [string, Reply][] = [
          ['POST JSON', await send(url, 'POST', path, { ...JSON_TYPE, origin: APP }, JSON.stringify(params))],
          ['POST form', await send(url, 'POST', path, { ...FORM_TYPE, origin: APP }, new URLSearchParams(params).toString())],
          ['GET', await send(url, 'GET', `${path}?${new URLSearchParams(params)}`, { origin: APP })],
        ];
        for (const [encoding, answer] of answers) {
          const body = JSON.parse(answer.text) as Record<string, unknown>;
          t.ok(answer.status === 200 && body.success === true && shaped(body), `${encoding} ${path}: ${answer.status} ${answer.text.slice(0, 80)}`);
          t.equal(answer.headers['access-control-allow-origin'], '*', `${encoding} ${path}: Allow-Origin *`);
        }
      }
    }
  }
});

t.test('a configured list of origins: a listed one is echoed, any other gets no Allow-Origin', async (t) => {
  const other = 'http://localhost:3000';
  const { url } = await startTestServer(t, {
    config: { ...NO_RATE_LIMIT, http: { host: '127.0.0.1', port: 0, corsOrigins: `${APP}, ${other}` } },
  });
  const list = (origin: string | undefined, how: 'json' | 'get') =>
    how === 'json'
      ? send(url, 'POST', '/tracker/list', { ...JSON_TYPE, ...(origin && { origin }) }, JSON.stringify({ hash: ALICE.apiKey }))
      : send(url, 'GET', `/tracker/list?hash=${ALICE.apiKey}`, origin ? { origin } : {});
  for (const how of ['json', 'get'] as const) {
    for (const origin of [APP, other]) {
      const answer = await list(origin, how);
      t.equal(answer.status, 200, `${how} from ${origin}: 200`);
      t.equal(answer.headers['access-control-allow-origin'], origin, `${how} from ${origin}: echoed`);
      t.match(answer.headers.vary, /Origin/, `${how} from ${origin}: Vary: Origin`);
      t.equal(answer.headers['access-control-allow-credentials'], undefined, `${how} from ${origin}: no Allow-Credentials`);
    }
    for (const origin of ['https://evil.example', `${APP}.evil.example`, 'null', undefined]) {
      const answer = await list(origin, how);
      t.equal(answer.status, 200, `${how} from ${origin ?? 'no origin'}: still served (CORS is the browser's check)`);
      t.equal(answer.headers['access-control-allow-origin'], undefined, `${how} from ${origin ?? 'no origin'}: no Allow-Origin`);
    }
  }
  const listed = await send(url, 'OPTIONS', '/tracker/list', BROWSER_PREFLIGHT);
  checkPreflight(t, listed, 'listed preflight');
  t.equal(listed.headers['access-control-allow-origin'], APP, 'listed preflight: echoed');
  const unlisted = await send(url, 'OPTIONS', '/tracker/list', { ...BROWSER_PREFLIGHT, origin: 'https://evil.example' });
  t.equal(unlisted.status, 204, 'unlisted preflight: 204, runs nothing');
  t.equal(unlisted.headers['access-control-allow-origin'], undefined, 'unlisted preflight: no Allow-Origin (the browser stops there)');
  const error = await send(url, 'POST', '/nope', { ...JSON_TYPE, origin: APP }, '{}');
  t.equal(error.headers['access-control-allow-origin'], APP, 'an error answer: echoed too');
});

t.test('TRACKCONF_CORS_ORIGINS', async (t) => {
  t.equal(loadConfig({}).http.corsOrigins, '*', 'default *');
  t.equal(loadConfig({ TRACKCONF_CORS_ORIGINS: ' * ' }).http.corsOrigins, '*', '*');
  t.same(
    loadConfig({ TRACKCONF_CORS_ORIGINS: 'https://A.example, http://localhost:3000,' }).http.corsOrigins,
    ['https://a.example', 'http://localhost:3000'],
    'a list, trimmed, lower case',
  );
  for (const bad of ['https://a.example/', 'a.example', 'https://a.example, *', ',', 'https://*.example']) {
    t.throws(() => loadConfig({ TRACKCONF_CORS_ORIGINS: bad }), ConfigError, `refused: ${JSON.stringify(bad)}`);
  }
});
