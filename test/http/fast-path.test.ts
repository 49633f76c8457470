/**
 * The pre-routed fast path (src/http/fast-path.ts) answers settings read and update exactly as
 * fastify does: every request below goes to two apps over identical databases, one with the fast
 * path and one without, and the answers must be the same bytes (Date masked), the connection must
 * end the same way, and fastify must have seen only the requests the fast path leaves to it.
 */
import { connect, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { ALICE, BLOCKED, BOB, CLONE_ID, NO_PROFILE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { UNKNOWN_HASH } from '../helpers/http.js';
import { chunkedBytes, exchange, postBytes, type ExchangeOptions } from '../helpers/raw-http.js';
import { until } from '../helpers/mqtt.js';
import { DAVE_SESSION, startTwins, type Twins } from '../helpers/twin-http.js';
import { ACTIONS, type Action } from '../../src/http/actions.js';

const READ = '/tracker/settings/tracking/read';
const UPDATE = '/tracker/settings/tracking/update';
const A = ALICE.apiKey;
const read = (body: unknown, headers?: Record<string, string>) => postBytes(READ, JSON.stringify(body), headers);
const update = (body: unknown) => postBytes(UPDATE, JSON.stringify(body));
const aliceRead = read({ hash: A, tracker_id: TELFM.trackerId });
const big = 'x'.repeat(70 * 1024);

interface Case {
  readonly what: string;
  readonly parts: readonly (string | Buffer)[];
  /** HTTP status and Navixy code (0: success) of each answer. */
  readonly expect: readonly (readonly [number, number])[];
  /** fastify serves it on the fast app too. */
  readonly viaFastify?: boolean;
  readonly closed?: boolean;
  readonly options?: ExchangeOptions;
}

/** Sends the case to both apps; asserts identical bytes, the expected answers and who served it. */
async function compare(t: Test, twins: Twins, c: Case): Promise<void> {
  const options = { count: c.expect.length, ...c.options };
  const seen = twins.fast.fastifyRequests;
  const fast = await exchange(twins.fast.port, c.parts, options);
  const slow = await exchange(twins.fastify.port, c.parts, options);
  t.equal(fast.responses.length, slow.responses.length, `${c.what}: as many answers`);
  fast.responses.forEach((answer, i) => {
    t.equal(answer.text, slow.responses[i]?.text, `${c.what}: answer ${i + 1} byte for byte`);
    const [status, code] = c.expect[i] ?? [0, 0];
    t.equal(answer.status, status, `${c.what}: HTTP ${status}`);
    if (status === 100 || options.head) return;
    const body = JSON.parse(answer.body) as { success: boolean; status?: { code: number } };
    t.equal(code === 0 ? body.success : body.status?.code, code === 0 ? true : code, `${c.what}: ${code === 0 ? 'success' : `code ${code}`}`);
  });
  t.equal(fast.closed, slow.closed, `${c.what}: connection ends alike`);
  t.equal(fast.closed, c.closed ?? false, `${c.what}: connection ${c.closed ? 'closed' : 'kept'}`);
  const requests = c.expect.filter(([status]) => status !== 100).length;
  t.equal(twins.fast.fastifyRequests - seen, c.viaFastify ? requests : 0, `${c.what}: ${c.viaFastify ? 'fastify' : 'the fast path'} served it`);
}

t.test('fast path and fastify answer the same bytes', async (t) => {
  const twins = await startTwins(t);
  const ok = [[200, 0]] as const;
  const cases: Case[] = [
    { what: 'read', parts: [aliceRead], expect: ok },
    { what: '/v2 prefix', parts: [postBytes(`/v2${READ}`, JSON.stringify({ hash: A, tracker_id: '1001' }))], expect: ok },
    { what: 'trailing slash', parts: [postBytes(`${READ}/`, JSON.stringify({ hash: A, tracker_id: 1001 }))], expect: ok },
    { what: '/api-v2 prefix', parts: [postBytes(`/api-v2${READ}`, JSON.stringify({ hash: A, tracker_id: 1001 }))], expect: ok },
    { what: '/api-v2 and slash', parts: [postBytes(`/api-v2${READ}/`, JSON.stringify({ hash: A, tracker_id: 1001 }))], expect: ok },
    { what: 'Origin (CORS *)', parts: [read({ hash: A, tracker_id: 1001 }, { origin: 'https://app.example' })], expect: ok },
    { what: '/v2 and slash', parts: [postBytes(`/v2${READ}/`, JSON.stringify({ hash: A, tracker_id: 1001 }))], expect: ok },
    { what: 'charset', parts: [read({ hash: A, tracker_id: 1001 }, { 'content-type': 'application/json; charset=utf-8' })], expect: ok },
    { what: 'Authorization: NVX', parts: [read({ tracker_id: 1001 }, { authorization: `NVX ${A}` })], expect: ok },
    { what: 'body hash beats header', parts: [read({ hash: BOB.apiKey, tracker_id: 1001 }, { authorization: `NVX ${A}` })], expect: [[400, 201]] },
    { what: 'UTF-8 BOM', parts: [postBytes(READ, `\ufeff${JSON.stringify({ hash: A, tracker_id: 1001 })}`)], expect: ok },
    { what: '3 no hash', parts: [read({ tracker_id: 1001 })], expect: [[400, 3]] },
    { what: '3 malformed hash', parts: [read({ hash: A.toUpperCase(), tracker_id: 1001 })], expect: [[400, 3]] },
    { what: '3 hash not a string', parts: [read({ hash: 42, tracker_id: 1001 })], expect: [[400, 3]] },
    { what: '4 unknown hash', parts: [read({ hash: UNKNOWN_HASH, tracker_id: 1001 })], expect: [[400, 4]] },
    { what: '5 malformed JSON', parts: [postBytes(READ, `{"hash": "${A}"`)], expect: [[400, 5]], closed: true },
    { what: '5 array', parts: [postBytes(READ, '[1]')], expect: [[400, 5]] },
    { what: '5 null', parts: [postBytes(READ, 'null')], expect: [[400, 5]] },
    { what: '5 string', parts: [postBytes(READ, '"x"')], expect: [[400, 5]] },
    { what: '5 empty body', parts: [postBytes(READ, '')], expect: [[400, 5]], closed: true },
    { what: '5 __proto__', parts: [postBytes(READ, `{"hash":"${A}","tracker_id":1001,"__proto__":{"x":1}}`)], expect: [[400, 5]], closed: true },
    { what: '5 constructor.prototype', parts: [postBytes(READ, `{"hash":"${A}","constructor":{"prototype":{"x":1}}}`)], expect: [[400, 5]], closed: true },
    { what: '9 by content-length', parts: [read({ hash: A, tracker_id: 1001, padding: big })], expect: [[412, 9]], closed: true },
    { what: '9 chunked', parts: [chunkedBytes(READ, JSON.stringify({ hash: A, tracker_id: 1001, padding: big }), 16_384)], expect: [[412, 9]], closed: true },
    { what: 'under the limit', parts: [read({ hash: A, tracker_id: 1001, padding: 'x'.repeat(60 * 1024) })], expect: ok },
    { what: '7 no tracker_id', parts: [read({ hash: A })], expect: [[400, 7]] },
    { what: '7 tracker_id abc', parts: [read({ hash: A, tracker_id: 'abc' })], expect: [[400, 7]] },
    { what: '201 not visible', parts: [read({ hash: BOB.apiKey, tracker_id: TELFM.trackerId })], expect: [[400, 201]] },
    { what: '208 blocked', parts: [read({ hash: A, tracker_id: BLOCKED.trackerId })], expect: [[403, 208]] },
    { what: '214 no profile', parts: [read({ hash: A, tracker_id: NO_PROFILE.trackerId })], expect: [[400, 214]] },
    { what: 'update 7 missing settings', parts: [update({ hash: A, tracker_id: 1001 })], expect: [[400, 7]] },
    { what: 'update 7 bad field', parts: [update({ hash: A, tracker_id: 1001, tracking_settings: { nope: 1 } })], expect: [[400, 7]] },
    { what: 'update 13', parts: [update({ hash: DAVE_SESSION, tracker_id: 1001, tracking_settings: VALID_TELFM })], expect: [[403, 13]] },
    { what: 'update 208', parts: [update({ hash: A, tracker_id: BLOCKED.trackerId, tracking_settings: {} })], expect: [[403, 208]] },
    { what: 'update 219', parts: [update({ hash: BOB.apiKey, tracker_id: CLONE_ID, tracking_settings: VALID_TELFM })], expect: [[403, 219]] },
    { what: 'update', parts: [update({ hash: A, tracker_id: 1001, tracking_settings: VALID_TELFM })], expect: ok },
    { what: 'read after update', parts: [aliceRead], expect: ok },
    { what: 'update again', parts: [update({ hash: A, tracker_id: '1001', tracking_settings: { tracking_angle: 45 } })], expect: ok },
    { what: 'no length, no body', parts: [postBytes(READ, '', { 'content-length': '' })], expect: [[400, 5]], closed: true },
    { what: 'chunked', parts: [chunkedBytes(READ, JSON.stringify({ hash: A, tracker_id: 1001 }), 7)], expect: ok },
    { what: 'split across packets', parts: [aliceRead.slice(0, 40), aliceRead.slice(40, 130), aliceRead.slice(130)], expect: ok, options: { gapMs: 25 } },
    { what: 'body in its own packet', parts: aliceRead.split(/(?<=\r\n\r\n)/), expect: ok, options: { gapMs: 25 } },
    {
      what: 'keep-alive, pipelined',
      parts: [aliceRead + read({ hash: UNKNOWN_HASH, tracker_id: 1001 }) + aliceRead],
      expect: [
        [200, 0],
        [400, 4],
        [200, 0],
      ],
    },
    {
      what: 'keep-alive, one after another',
      parts: [aliceRead, read({ hash: A }), aliceRead],
      expect: [
        [200, 0],
        [400, 7],
        [200, 0],
      ],
      options: { gapMs: 25 },
    },
    { what: 'HTTP/1.0', parts: [aliceRead.replace('HTTP/1.1', 'HTTP/1.0')], expect: ok, closed: true },
    { what: 'connection: close', parts: [read({ hash: A, tracker_id: 1001 }, { connection: 'close' })], expect: ok, closed: true },
    {
      what: 'expect: 100-continue',
      parts: [read({ hash: A, tracker_id: 1001 }, { expect: '100-continue' })],
      expect: [
        [100, 0],
        [200, 0],
      ],
    },
    // Left to fastify: anything but POST JSON to the exact paths.
    { what: 'query string', parts: [postBytes(`${READ}?tracker_id=1001`, JSON.stringify({ hash: A }))], expect: ok, viaFastify: true },
    { what: 'GET', parts: [`GET ${READ}?hash=${A}&tracker_id=1001 HTTP/1.1\r\nhost: x\r\n\r\n`], expect: ok, viaFastify: true },
    { what: 'HEAD', parts: [`HEAD ${READ} HTTP/1.1\r\nhost: x\r\n\r\n`], expect: [[400, 111]], viaFastify: true, options: { head: true } },
    { what: 'PUT', parts: [postBytes(READ, '{}').replace('POST', 'PUT')], expect: [[400, 111]], viaFastify: true },
    {
      what: 'form',
      parts: [postBytes(READ, `hash=${A}&tracker_id=1001`, { 'content-type': 'application/x-www-form-urlencoded' })],
      expect: ok,
      viaFastify: true,
    },
    {
      what: 'other JSON spelling',
      parts: [read({ hash: A, tracker_id: 1001 }, { 'content-type': 'Application/JSON; charset=UTF-8' })],
      expect: ok,
      viaFastify: true,
    },
    { what: 'no content type', parts: [read({ hash: A, tracker_id: 1001 }, { 'content-type': '' })], expect: [[400, 5]], viaFastify: true, closed: true },
    { what: 'double slash', parts: [postBytes(`/${READ}`, JSON.stringify({ hash: A, tracker_id: 1001 }))], expect: ok, viaFastify: true },
    {
      what: 'OPTIONS preflight',
      parts: [`OPTIONS ${READ} HTTP/1.1\r\nhost: x\r\norigin: https://app.example\r\naccess-control-request-method: POST\r\n\r\n`],
      expect: [[204, 0]],
      viaFastify: true,
      options: { head: true },
    },
    // Every call of the route table, not only the settings calls.
    { what: 'other call', parts: [postBytes('/tracker/list', JSON.stringify({ hash: A }))], expect: ok },
    { what: 'other call, /api-v2', parts: [postBytes('/api-v2/tracker/list/', JSON.stringify({ hash: A }))], expect: ok },
  ];
  for (const c of cases) await compare(t, twins, c);
});

t.test('CORS with a list of origins: the same bytes, a listed Origin echoed on both paths', async (t) => {
  const twins = await startTwins(t, { corsOrigins: ['https://app.example', 'http://localhost:3000'] });
  for (const [what, origin, echoed] of [
    ['listed origin', 'https://app.example', true],
    ['other listed origin', 'http://localhost:3000', true],
    ['unlisted origin', 'https://evil.example', false],
    ['no origin', '', false],
  ] as const) {
    const headers: Record<string, string> = origin === '' ? {} : { origin };
    const parts = [read({ hash: A, tracker_id: 1001 }, headers) + read({ hash: UNKNOWN_HASH, tracker_id: 1001 }, { ...headers, connection: 'close' })];
    await compare(t, twins, {
      what,
      parts,
      expect: [
        [200, 0],
        [400, 4],
      ],
      closed: true,
    });
    const { responses } = await exchange(twins.fast.port, parts, { count: 2 });
    for (const answer of responses) {
      t.equal(answer.headers.get('access-control-allow-origin'), echoed ? origin : undefined, `${what}: ${echoed ? 'echoed' : 'no Allow-Origin'}`);
      t.equal(answer.headers.get('vary'), 'Origin', `${what}: Vary: Origin`);
      t.equal(answer.headers.get('access-control-allow-credentials'), undefined, `${what}: never Allow-Credentials`);
    }
  }
});

t.test("a call's own body limit holds on both paths", async (t) => {
  const list = ACTIONS.get('tracker/list')!;
  const actions = new Map<string, Action>([...ACTIONS, ['test/big', { ...list, bodyLimit: 1024 * 1024 }], ['test/small', { ...list, bodyLimit: 2048 }]]);
  const twins = await startTwins(t, { actions });
  const body = (size: number) => JSON.stringify({ hash: A, padding: 'x'.repeat(size) });
  const cases: Case[] = [
    { what: 'big: 900 KiB accepted', parts: [postBytes('/test/big', body(900 * 1024))], expect: [[200, 0]] },
    { what: 'big: 900 KiB chunked', parts: [chunkedBytes('/api-v2/test/big/', body(900 * 1024), 65_536)], expect: [[200, 0]] },
    { what: 'big: over 1 MiB is 9', parts: [postBytes('/v2/test/big', body(1024 * 1024))], expect: [[412, 9]], closed: true },
    { what: 'big: over 1 MiB chunked is 9', parts: [chunkedBytes('/test/big', body(1024 * 1024 + 10), 65_536)], expect: [[412, 9]], closed: true },
    { what: 'small: 1 KiB accepted', parts: [postBytes('/test/small', body(1024))], expect: [[200, 0]] },
    { what: 'small: 3 KiB is 9', parts: [postBytes('/test/small', body(3 * 1024))], expect: [[412, 9]], closed: true },
    { what: 'small: 3 KiB chunked is 9', parts: [chunkedBytes('/test/small/', body(3 * 1024), 512)], expect: [[412, 9]], closed: true },
    { what: 'default: 70 KiB is 9', parts: [postBytes('/tracker/list', body(70 * 1024))], expect: [[412, 9]], closed: true },
    // fastify's own paths: a form, a query string, doubled slashes
    {
      what: 'big: 900 KiB form',
      parts: [postBytes('/test/big', `hash=${A}&padding=${'x'.repeat(900 * 1024)}`, { 'content-type': 'application/x-www-form-urlencoded' })],
      expect: [[200, 0]],
      viaFastify: true,
    },
    {
      what: 'small: 3 KiB form is 9',
      parts: [postBytes('/test/small', `hash=${A}&padding=${'x'.repeat(3 * 1024)}`, { 'content-type': 'application/x-www-form-urlencoded' })],
      expect: [[412, 9]],
      viaFastify: true,
      closed: true,
    },
    { what: 'small: query string, 3 KiB is 9', parts: [postBytes('/test/small?x=1', body(3 * 1024))], expect: [[412, 9]], viaFastify: true, closed: true },
    { what: 'small: doubled slash, 3 KiB is 9', parts: [postBytes('//test/small', body(3 * 1024))], expect: [[412, 9]], viaFastify: true, closed: true },
    { what: 'big: doubled slash, 900 KiB accepted', parts: [postBytes('/test//big', body(900 * 1024))], expect: [[200, 0]], viaFastify: true },
  ];
  for (const c of cases) await compare(t, twins, c);
});

t.test('429: the same limits, in the same order, on both paths', async (t) => {
  const perCredential = await startTwins(t, { rateLimitPerCredential: 2 });
  await compare(t, perCredential, {
    what: 'per credential',
    parts: [aliceRead + aliceRead + aliceRead],
    expect: [
      [200, 0],
      [200, 0],
      [429, 15],
    ],
  });
  const perAddress = await startTwins(t, { rateLimitPerAddress: 2 });
  const bobRead = read({ hash: BOB.apiKey, tracker_id: CLONE_ID });
  await compare(t, perAddress, {
    what: 'per address',
    parts: [aliceRead + bobRead + bobRead],
    expect: [
      [200, 0],
      [200, 0],
      [429, 15],
    ],
  });
  // an unknown credential is refused before any limit is counted
  const both = await startTwins(t, { rateLimitPerCredential: 1, rateLimitPerAddress: 1 });
  const unknown = read({ hash: UNKNOWN_HASH, tracker_id: 1001 });
  await compare(t, both, {
    what: 'limits after the credential',
    parts: [unknown + aliceRead + unknown + aliceRead],
    expect: [
      [400, 4],
      [200, 0],
      [400, 4],
      [429, 15],
    ],
  });
});

t.test("closing: a request that arrives after closing began gets fastify's 503 on both paths", async (t) => {
  const twins = await startTwins(t);
  const [head, body] = aliceRead.split(/(?<=\r\n\r\n)/) as [string, string];
  const run = async (side: Twins['fast']) => {
    const socket = await new Promise<Socket>((resolve) => {
      const s = connect({ port: side.port, host: '127.0.0.1', noDelay: true }, () => resolve(s));
    });
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const begun = new Promise((resolve) => side.server.once('request', resolve));
    socket.write(head + body.slice(0, 5)); // a request in progress: its connection is not idle
    await begun;
    const closing = side.close();
    await until(() => !side.server.listening, 5_000, 'closing to begin'); // fastify marks itself closing first
    socket.write(body.slice(5) + aliceRead); // its end, then one more request on the same connection
    await closed;
    socket.destroy();
    await closing;
    return text.replace(/^(date):.*$/gim, '$1: <masked>');
  };
  const fast = await run(twins.fast);
  const slow = await run(twins.fastify);
  t.equal(fast, slow, 'same bytes');
  t.match(fast, /^HTTP\/1\.1 200 OK\r\n[\s\S]*HTTP\/1\.1 503 Service Unavailable\r\n/, 'the request begun before closing is served, the next one gets 503');
});
