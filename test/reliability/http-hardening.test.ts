/**
 * HTTP hardening (docs/reliability.md) not covered elsewhere: slow clients (silent connections,
 * slowloris headers, trickled bodies) are cut by the header and request timeouts while everyone else
 * is served; a streamed (chunked) body over the limit is refused with 9; user/auth checks a password
 * hash of the same cost for an unknown login as for a wrong password; secrets never reach the logs
 * (redaction unit test, and the built service at log level trace driven through every credential path).
 * Rate limits, login throttling, body limit by content-length and the security headers of ordinary
 * answers: test/http/*.test.ts. HTTPS and MQTT over TLS: test/broker/listeners.test.ts.
 * Also: no method but GET and POST runs a call (HEAD included), HSTS on the HTTPS listener only, and
 * the security headers on the WebSocket listener's plain HTTP answers.
 */
import { connect, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import t from 'tap';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../../src/auth/crypto.js';
import { createLogger } from '../../src/logger.js';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { LiteTracker, socketClosed } from '../helpers/lite-mqtt.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { provisionDb, spawnService } from '../helpers/service.js';
import { fleetFile } from '../helpers/fleet.js';
import { freePort, get, post, startTestServer, tempDir } from '../helpers/server.js';
import { selfSignedCertificate } from '../helpers/tls.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** What the server sent before it closed the connection (closed: false if it did not within `ms`). */
function outcome(socket: Socket, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('utf8')));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => resolve({ text, closed: false }), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
  });
}

t.test('slow clients are cut by the header and request timeouts', async (t) => {
  const { server, url } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, http: { headersTimeoutMs: 500, requestTimeoutMs: 1_500 } } });
  const port = server.ports.http;

  const silent = await open(port);
  const slowHead = await open(port);
  const slowBody = await open(port);
  // Node's own timeouts are 60 s (head) and 300 s (request): closed within 20 s means ours applied.
  const [silentOutcome, slowHeadOutcome, slowBodyOutcome] = [outcome(silent, 20_000), outcome(slowHead, 20_000), outcome(slowBody, 20_000)];
  // slowloris: a header line every 100 ms, never the blank line that ends the head.
  slowHead.write('POST /user/auth HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => slowHead.writable && slowHead.write(`X-Drip-${Date.now()}: 1\r\n`), 100);
  // a complete head announcing 1000 bytes of body, then one byte every 100 ms.
  slowBody.write('POST /user/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
  const trickle = setInterval(() => slowBody.writable && slowBody.write(' '), 100);
  t.teardown(() => {
    clearInterval(drip);
    clearInterval(trickle);
  });

  // Meanwhile everyone else is served.
  const answer = await post(url, 'tracker/list', { hash: ALICE.apiKey });
  t.equal(answer.body.success, true, 'a normal request is served while three slow clients hold connections');

  const s = await silentOutcome;
  t.ok(s.closed, 'a connection that sends nothing is closed by the header timeout');
  const h = await slowHeadOutcome;
  t.ok(h.closed, 'a head trickled line by line is cut by the header timeout');
  t.match(h.text, /^HTTP\/1\.1 408 /, 'with 408');
  const b = await slowBodyOutcome;
  t.ok(b.closed, 'a body trickled byte by byte is cut by the request timeout');
  t.match(b.text, /^HTTP\/1\.1 408 /, 'with 408');
  for (const text of [h.text, b.text]) {
    const [head = '', body = ''] = text.split('\r\n\r\n');
    t.match(head, /x-content-type-options: nosniff/i, 'security headers on the 408');
    t.same(JSON.parse(body), { success: false, status: { code: 5, description: 'Wrong request format' } }, 'the Navixy envelope on the 408');
  }
});

t.test('a chunked body over the limit is refused with 9, without reading it all', async (t) => {
  const { server, url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const socket = await open(server.ports.http);
  const result = outcome(socket, 5_000);
  socket.write('POST /tracker/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
  const chunk = `${(16 * 1024).toString(16)}\r\n${' '.repeat(16 * 1024)}\r\n`;
  let sent = 0;
  for (; sent < 64 && !socket.destroyed; sent++) {
    socket.write(chunk);
    await new Promise((r) => setTimeout(r, 2));
  }
  const { text } = await result;
  t.match(text, /^HTTP\/1\.1 412 /, 'HTTP 412');
  t.match(text, /"code":9/, 'code 9');
  t.equal((await post(url, 'tracker/list', { hash: ALICE.apiKey })).body.success, true, 'the service carries on');
});

t.test('no user enumeration: an unknown login gets the answer, and the hash check, of a wrong password', async (t) => {
  const { url } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, login: { maxFailures: 1_000, windowSeconds: 900 } } });
  const answer = async (login: string) => {
    const { status, body } = await post(url, 'user/auth', { login, password: 'not-the-password' });
    return `${status} ${JSON.stringify(body)}`;
  };
  t.equal(await answer('nobody@example.com'), await answer(ALICE.login), 'the same answer for both');
  // The cost without a stopwatch: an unknown login is checked against DUMMY_PASSWORD_HASH
  // (auth-service.ts), which must be a well-formed hash with the parameters and sizes of a real one.
  const shape = (hash: string) => {
    const [kind, n, r, p, salt = '', key = ''] = hash.split('$');
    return { kind, n, r, p, salt: Buffer.from(salt, 'base64url').length, key: Buffer.from(key, 'base64url').length };
  };
  t.same(shape(DUMMY_PASSWORD_HASH), shape(await hashPassword('x')), 'the dummy hash costs what a real one costs to check');
  t.equal(await verifyPassword('x', DUMMY_PASSWORD_HASH), false, 'and matches no password');
});

t.test('the logger redacts credentials wherever a log line carries them', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  const log = createLogger('trace', sink);
  const secrets = ['pw-1', 'hash-2', 'secret-3', 'device-secret-4', 'key-5', 'auth-6', 'cookie-7', 'query-hash-8', 'token-9'];
  log.info({ password: 'pw-1', hash: 'hash-2' }, 'top level');
  log.info({ user: { password: 'pw-1', api_keys: ['key-5'] }, tracker: { device_secret: 'device-secret-4', secret: 'secret-3' } }, 'one level');
  log.info({ import: { users: { password: 'pw-1', apiKey: 'key-5' } }, session: { token: 'token-9' } }, 'two levels');
  log.info({ req: { method: 'GET', url: '/tracker/list?hash=query-hash-8', headers: { authorization: 'NVX auth-6', cookie: 'cookie-7' } } }, 'a request');
  const text = lines.join('');
  for (const secret of secrets) t.notOk(text.includes(secret), `${secret} is not in the log`);
  t.match(text, /\/tracker\/list"/, 'the request path is kept, without its query');
});

t.test('the built service at log level trace: no credential in its output', async (t) => {
  const db = join(tempDir(t), 'logs.db');
  await provisionDb(db, fleetFile());
  const service = await spawnService({ db, logLevel: 'trace', env: { TRACKCONF_RATE_LIMIT: '2' } });
  t.teardown(() => service.kill('SIGKILL'));
  const u = service.url;
  const session = (await post(u, 'user/auth', { login: ALICE.login, password: ALICE.password })).body.hash as string;
  await post(u, 'user/auth', { login: ALICE.login, password: 'wrong-password-xyz' });
  await post(u, 'user/auth', { login: 'nobody@example.com', password: ALICE.password });
  await fetch(`${u}/tracker/list?hash=${session}`);
  await fetch(`${u}/tracker/list`, { headers: { authorization: `NVX ${ALICE.apiKey}` } });
  for (let i = 0; i < 4; i++)
    await post(u, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM }); // 429s too
  await fetch(`${u}/%zz?hash=${ALICE.apiKey}`);
  await new Promise<void>((resolve) => {
    const raw = connect({ port: service.httpPort, host: '127.0.0.1' }, () =>
      raw.end(`GET /tracker/list?hash=${ALICE.apiKey} HTTP/1.1\r\nAuthorization: NVX ${ALICE.apiKey}\r\nBad Header\r\n\r\n`),
    );
    raw.on('error', () => undefined);
    raw.on('close', () => resolve());
    raw.resume();
  });
  const tracker = await LiteTracker.connect(TELFM, { port: service.mqttPort });
  await tracker.subscribe();
  const cut = socketClosed(tracker.socket, 20_000);
  tracker.publish(`trackers/${TELFM.deviceId}/config/tracking/ack`, '{"version":1,"status":"applied"}');
  tracker.publish(`trackers/${TELFM.deviceId}/config/tracking/reported`, 'not json');
  tracker.publish('trackers/other/config/tracking/ack', '{}');
  await cut; // the last one is refused with a disconnect: the broker handled all three
  await LiteTracker.connect({ deviceId: TELFM.deviceId, secret: 'wrong-device-secret' }, { port: service.mqttPort }).catch(() => undefined);
  await LiteTracker.connect({ deviceId: ALICE.login, secret: ALICE.apiKey }, { port: service.mqttPort }).catch(() => undefined);
  tracker.destroy();
  service.kill('SIGTERM');
  await service.exited;
  const output = service.output.stdout + service.output.stderr;
  t.ok(output.split('\n').length > 5, `the service logged (${output.split('\n').length} lines)`);
  for (const [what, secret] of [
    ['password', ALICE.password],
    ['wrong password', 'wrong-password-xyz'],
    ['session hash', session],
    ['API key', ALICE.apiKey],
    ['device secret', TELFM.secret],
    ['wrong device secret', 'wrong-device-secret'],
  ] as const) {
    t.notOk(output.includes(secret), `no ${what} in the log`);
  }
});

t.test('no method but GET and POST runs a call: HEAD, PUT, DELETE, PATCH change nothing', async (t) => {
  const { url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const params = { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId), tracking_settings: JSON.stringify(VALID_TELFM) };
  const version = async () =>
    (await get(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: String(TELFM.trackerId) })).body.sync.version as number;
  // `curl -I -G .../tracker/settings/tracking/update?...`: a HEAD with every parameter in the query.
  for (const path of ['tracker/settings/tracking/update', 'v2/tracker/settings/tracking/update/', 'api-v2/tracker/settings/tracking/update']) {
    const head = await fetch(`${url}/${path}?${new URLSearchParams(params)}`, { method: 'HEAD' });
    t.equal(head.status, 400, `HEAD /${path}: HTTP 400`);
    t.equal(await head.text(), '', `HEAD /${path}: no body`);
  }
  t.equal(await version(), 0, 'HEAD created no settings version');
  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    const answer = await fetch(`${url}/tracker/settings/tracking/update?${new URLSearchParams(params)}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, tracking_settings: VALID_TELFM }),
    });
    t.equal(answer.status, 400, `${method}: HTTP 400`);
    t.same(await answer.json(), { success: false, status: { code: 111, description: 'Wrong handler' } }, `${method}: 111 Wrong handler`);
  }
  t.equal(await version(), 0, 'nor did PUT, DELETE or PATCH');
  t.equal((await get(url, 'tracker/settings/tracking/update', params)).body.success, true, 'GET still runs it');
  t.equal(await version(), 1, 'one version, from the GET');
});

/** An HTTPS GET with the test certificate: status and headers. */
function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test("HSTS on the HTTPS listener only; the WebSocket listener's plain HTTP answers carry the security headers", async (t) => {
  const { certFile, keyFile, cert } = selfSignedCertificate(t.testdir());
  const [mqttsPort, httpsPort] = [await freePort(), await freePort()];
  const { server, url } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, tls: { cert: certFile, key: keyFile, mqttsPort, httpsPort } } });
  for (const path of [`/tracker/list?hash=${ALICE.apiKey}`, '/nope', '/health']) {
    const secure = await httpsGet(httpsPort, path, cert);
    t.match(secure.headers['strict-transport-security'], /^max-age=\d{8,}/, `HTTPS ${path}: HSTS`);
    const plain = await fetch(`${url}${path}`);
    t.equal(plain.headers.get('strict-transport-security'), null, `HTTP ${path}: no HSTS (it is ignored over HTTP)`);
  }
  for (const path of ['/', '/mqtt', '/anything']) {
    const answer = await fetch(`http://127.0.0.1:${server.ports.ws}${path}`);
    t.equal(answer.status, path === '/mqtt' ? 426 : 404, `WebSocket listener ${path}: HTTP ${answer.status}`);
    t.equal(answer.headers.get('x-content-type-options'), 'nosniff', `WebSocket listener ${path}: nosniff`);
    t.equal(answer.headers.get('x-frame-options'), 'DENY', `WebSocket listener ${path}: x-frame-options`);
    t.equal(answer.headers.get('cache-control'), 'no-store', `WebSocket listener ${path}: no-store`);
    t.match(answer.headers.get('content-security-policy'), /default-src 'none'/, `WebSocket listener ${path}: CSP`);
    t.equal(answer.headers.get('referrer-policy'), 'no-referrer', `WebSocket listener ${path}: referrer-policy`);
  }
});
