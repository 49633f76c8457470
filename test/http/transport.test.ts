/**
 * How requests arrive (docs/api.md#basics): GET with a query string, POST JSON, POST form, `/v2/` and a trailing
 * slash, where the credential is looked up (body, then query, then `Authorization: NVX`), and what
 * every answer carries (JSON content type, security headers). Also `GET /health`.
 */
import t from 'tap';
import { ALICE, BOB, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { UNKNOWN_HASH, expectError, expectOk, raw, NO_RATE_LIMIT } from '../helpers/http.js';
import { form, get, post, startTestServer, type ApiAnswer } from '../helpers/server.js';

const READ = 'tracker/settings/tracking/read';
const UPDATE = 'tracker/settings/tracking/update';

t.test('transport', async (t) => {
  const { url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const alice = ALICE.apiKey;
  const id = String(TELFM.trackerId);

  t.test('GET with a query string, POST JSON and POST form reach the same calls', async (t) => {
    const answers: [string, ApiAnswer][] = [
      ['GET', await get(url, 'tracker/read', { hash: alice, tracker_id: id })],
      ['POST JSON, number id', await post(url, 'tracker/read', { hash: alice, tracker_id: TELFM.trackerId })],
      ['POST JSON, string id', await post(url, 'tracker/read', { hash: alice, tracker_id: id })],
      ['POST form', await form(url, 'tracker/read', { hash: alice, tracker_id: id })],
    ];
    for (const [what, answer] of answers) {
      const body = expectOk(t, answer, what);
      t.equal(body.value.id, TELFM.trackerId, `${what}: tracker 1001`);
    }
  });

  t.test('tracking_settings as JSON text in a form and in GET', async (t) => {
    const viaForm = await form(url, UPDATE, {
      hash: alice,
      tracker_id: id,
      tracking_settings: JSON.stringify({ ...VALID_TELFM, tracking_interval: '90' }),
    });
    t.equal(expectOk(t, viaForm, 'form update').sync.version, 1);
    const afterForm = expectOk(t, await form(url, READ, { hash: alice, tracker_id: id }), 'form read');
    t.strictSame(afterForm.value, { ...VALID_TELFM, tracking_interval: 90 }, 'stored as a number');

    const viaGet = await get(url, UPDATE, { hash: alice, tracker_id: id, tracking_settings: JSON.stringify({ tracking_angle: '45' }) });
    t.equal(expectOk(t, viaGet, 'GET update').sync.version, 2);
    const afterGet = expectOk(t, await get(url, READ, { hash: alice, tracker_id: id }), 'GET read');
    t.strictSame(afterGet.value, { ...VALID_TELFM, tracking_interval: 90, tracking_angle: 45 }, 'merged, stored as numbers');

    expectError(
      t,
      await form(url, UPDATE, { hash: alice, tracker_id: id, tracking_settings: '{"tracking_angle": 45' }),
      'invalidParameters',
      ['tracking_settings'],
      'form: invalid JSON text',
    );
    expectError(
      t,
      await form(url, UPDATE, { hash: alice, tracker_id: id, tracking_settings: '"text"' }),
      'invalidParameters',
      ['tracking_settings'],
      'form: JSON text of a string',
    );
  });

  t.test('/v2/ prefix and trailing slash', async (t) => {
    for (const path of ['v2/tracker/list', 'tracker/list/', 'v2/tracker/list/', 'tracker/list//']) {
      const body = expectOk(t, await get(url, path, { hash: alice }), `GET /${path}`);
      t.ok(Array.isArray(body.list) && body.list.length > 0, `/${path} lists`);
      expectOk(t, await post(url, path, { hash: alice }), `POST /${path}`);
    }
    for (const path of [`v2/${READ}`, `${READ}/`, `v2/${READ}/`]) {
      const body = expectOk(t, await form(url, path, { hash: alice, tracker_id: id }), `form /${path}`);
      t.ok('value' in body && 'sync' in body, `/${path} reads settings`);
    }
  });

  t.test('credential: body beats query beats Authorization header', async (t) => {
    const listWith = async (where: { body?: string; query?: string; header?: string }): Promise<ApiAnswer> => {
      const path = where.query !== undefined ? `tracker/list?hash=${where.query}` : 'tracker/list';
      const headers: Record<string, string> = where.header !== undefined ? { authorization: `NVX ${where.header}` } : {};
      return post(url, path, where.body !== undefined ? { hash: where.body } : {}, headers);
    };
    const ids = (answer: ApiAnswer) => (answer.body.list as { id: number }[]).map((tr) => tr.id);

    expectOk(t, await listWith({ body: alice, query: UNKNOWN_HASH }), 'valid body, unknown query');
    expectError(t, await listWith({ body: UNKNOWN_HASH, query: alice }), 'unknownCredential', undefined, 'unknown body, valid query');
    expectError(t, await listWith({ body: 'BAD', query: alice }), 'wrongHash', undefined, 'malformed body, valid query');
    expectOk(t, await listWith({ query: alice, header: UNKNOWN_HASH }), 'valid query, unknown header');
    expectError(t, await listWith({ query: UNKNOWN_HASH, header: alice }), 'unknownCredential', undefined, 'unknown query, valid header');
    expectOk(t, await listWith({ body: alice, header: UNKNOWN_HASH }), 'valid body, unknown header');
    expectError(t, await listWith({ body: UNKNOWN_HASH, header: alice }), 'unknownCredential', undefined, 'unknown body, valid header');
    expectOk(t, await listWith({ header: alice }), 'header alone');

    // two valid credentials of different users: whose list comes back shows which one was used
    t.strictSame(ids(await listWith({ body: BOB.apiKey, query: alice, header: alice })), [1002], 'body wins: bob');
    t.strictSame(ids(await listWith({ query: BOB.apiKey, header: alice })), [1002], 'query wins: bob');
    t.notSame(ids(await listWith({ header: alice, query: undefined })), [1002], 'header alone: alice');

    // a form body holds a credential too, and beats the query
    const formAnswer = await raw(url, `tracker/list?hash=${UNKNOWN_HASH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `hash=${alice}`,
    });
    expectOk(t, formAnswer, 'form body beats query');
    // GET: query beats header
    expectOk(t, await get(url, 'tracker/list', { hash: alice }, { authorization: `NVX ${UNKNOWN_HASH}` }), 'GET: query beats header');
    expectOk(t, await get(url, 'tracker/list', {}, { authorization: `NVX ${alice}` }), 'GET: header alone');
  });

  t.test('answers are JSON with security headers, whatever happened', async (t) => {
    const cases: [string, Promise<Awaited<ReturnType<typeof raw>>>, number][] = [
      ['success GET', raw(url, `tracker/list?hash=${alice}`), 200],
      [
        'success POST',
        raw(url, 'tracker/list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hash: alice }) }),
        200,
      ],
      ['3', raw(url, 'tracker/list'), 400],
      ['4', raw(url, `tracker/list?hash=${UNKNOWN_HASH}`), 400],
      ['5', raw(url, 'tracker/list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }), 400],
      ['5 content type', raw(url, 'tracker/list', { method: 'POST', headers: { 'content-type': 'text/html' }, body: '<p>' }), 400],
      ['7', raw(url, `${READ}?hash=${alice}`), 400],
      [
        '9',
        raw(url, 'tracker/list', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x: 'y'.repeat(70_000) }) }),
        412,
      ],
      ['111', raw(url, 'nope'), 400],
      ['111 PUT', raw(url, 'tracker/list', { method: 'PUT' }), 400],
      ['201', raw(url, `tracker/read?hash=${alice}&tracker_id=424242`), 400],
      ['health', raw(url, 'health'), 200],
    ];
    for (const [what, pending, status] of cases) {
      const answer = await pending;
      t.equal(answer.status, status, `${what}: HTTP ${status}`);
      t.match(answer.headers.get('content-type'), /^application\/json(;|$)/, `${what}: content-type application/json`);
      t.equal(answer.headers.get('x-content-type-options'), 'nosniff', `${what}: nosniff`);
      t.equal(answer.headers.get('x-frame-options'), 'DENY', `${what}: x-frame-options`);
      t.equal(answer.headers.get('cache-control'), 'no-store', `${what}: no-store`);
      t.match(answer.headers.get('content-security-policy'), /default-src 'none'/, `${what}: CSP`);
      t.equal(answer.headers.get('referrer-policy'), 'no-referrer', `${what}: referrer-policy`);
      t.notOk(answer.headers.get('x-powered-by'), `${what}: no x-powered-by`);
      t.type(answer.body, 'object', `${what}: a JSON object`);
    }
  });

  t.test('GET /health', async (t) => {
    const answer = await raw(url, 'health');
    t.equal(answer.status, 200);
    t.equal(answer.text, '{"status":"ok"}', 'exactly {"status":"ok"}');
  });
});
