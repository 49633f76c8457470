/**
 * How the console is served (docs/console.md#security) and the call it follows the fleet with
 * (sync_summary `all`, docs/api.md#trackersettingstrackingsync_summary). No browser here.
 */
import { request as httpsRequest } from 'node:https';
import t, { type Test } from 'tap';
import { consoleAssets } from '../../src/console/serve.js';
import { ALICE, DAVE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { freePort, get, login, post, startTestServer } from '../helpers/server.js';
import { selfSignedCertificate } from '../helpers/tls.js';

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function checkPolicy(t: Test, csp: unknown, what: string): void {
  t.type(csp, 'string', `${what}: a Content-Security-Policy`);
  const policy = String(csp);
  t.match(policy, /(^|; )default-src 'self'(;|$)/, `${what}: default-src 'self'`);
  t.notMatch(policy, /unsafe-inline|unsafe-eval|https?:|\*/, `${what}: no inline code, no eval, no other host`);
}

t.test('the console pages: HTML, CSS and scripts under a strict policy, on HTTP and HTTPS', async (t) => {
  const { certFile, keyFile, cert } = selfSignedCertificate(t.testdir());
  const [mqttsPort, httpsPort] = [await freePort(), await freePort()];
  const { url } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, tls: { cert: certFile, key: keyFile, mqttsPort, httpsPort } } });

  const assets = consoleAssets();
  t.ok(assets.has('index.html') && assets.has('console.css') && assets.has('ui/main.js'), 'the HTML, the CSS and the compiled scripts');
  for (const [name, asset] of assets) {
    t.notMatch(asset.body.toString('utf8'), /(src|href)=["']?(https?:)?\/\/|url\(\s*["']?(https?:)?\/\/|@import/, `${name}: nothing from another host`);
  }
  const page = await fetch(`${url}/console/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  checkPolicy(t, page.headers.get('content-security-policy'), 'GET /console/');
  const html = await page.text();
  t.match(html, /<script type="module" src="\/console\/ui\/main\.js">/);
  t.notMatch(html, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler in the page');
  t.equal((await fetch(`${url}/console`)).status, 200, 'without the trailing slash too');

  for (const [path, type] of [
    ['/console/ui/main.js', /^text\/javascript/],
    ['/console/console.css', /^text\/css/],
  ] as const) {
    const answer = await fetch(`${url}${path}`);
    t.equal(answer.status, 200, path);
    t.match(answer.headers.get('content-type'), type, `${path}: its type`);
    t.equal(answer.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
    checkPolicy(t, answer.headers.get('content-security-policy'), path);
  }
  const missing = await fetch(`${url}/console/ui/../../../package.json`);
  t.equal(missing.status === 404 || missing.status === 400 ? 'refused' : await missing.text(), 'refused', 'nothing outside the console files');
  t.equal((await fetch(`${url}/console/nope.js`)).status, 404);

  const apiAnswer = await get(url, 'tracker/list', { hash: ALICE.apiKey });
  t.match(apiAnswer.headers.get('content-security-policy'), /^default-src 'none'/, 'the API keeps its own policy');
  t.equal((await post(url, 'console/', {})).body.status.code, 111, 'POST to the console is an unknown call');

  const secure = await httpsGet(httpsPort, '/console/', cert);
  t.equal(secure.status, 200, 'HTTPS serves it too');
  checkPolicy(t, secure.headers['content-security-policy'], 'HTTPS /console/');
  t.match(secure.body, /\/console\/ui\/main\.js/);
});

t.test('sync_summary with `all`: every visible tracker, applied and none too', async (t) => {
  const { url } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const summary = (params: Record<string, unknown>, hash = ALICE.apiKey) => post(url, 'tracker/settings/tracking/sync_summary', { hash, ...params });
  t.equal(
    (await post(url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM })).body.success,
    true,
  );

  const plain = await summary({});
  t.strictSame(
    plain.body.list.map((e: { tracker_id: number }) => e.tracker_id),
    [TELFM.trackerId],
    'without it: only the trackers not applied or none',
  );
  const all = await summary({ all: true });
  t.strictSame(all.body.value, plain.body.value, 'the same counts');
  t.strictSame(
    all.body.list.map((e: { tracker_id: number }) => e.tracker_id),
    [1001, 1003, 1004, 1005, 1006, 1007],
  );
  t.match(all.body.list[0], { tracker_id: 1001, version: 1, state: 'pending', changed_at: String });
  t.strictSame(all.body.list[1], { tracker_id: 1003, version: 0, state: 'none', changed_at: null });
  t.equal((await get(url, 'tracker/settings/tracking/sync_summary', { hash: ALICE.apiKey, all: 'true' })).body.list.length, 6, 'GET: "true"');

  const dave = await login(url, DAVE);
  const his = await summary({ all: 1 }, dave);
  t.strictSame(
    his.body.list.map((e: { tracker_id: number }) => e.tracker_id),
    [1001, 1003],
    'a sub-user: only its bound trackers',
  );
  const bad = await summary({ all: 'yes' });
  t.equal(bad.body.status.code, 7);
  t.equal(bad.body.errors[0].parameter, 'all');
  t.equal((await post(url, 'tracker/settings/tracking/sync_summary', { all: true })).body.status.code, 3, 'a credential, like every call');
});
