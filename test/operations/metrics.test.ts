import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { connackCode, connect, trackerOptions } from '../helpers/mqtt.js';
import { post, startTestServer } from '../helpers/server.js';

const configTopic = `trackers/${TELFM.deviceId}/config/tracking`;
const ackTopic = `${configTopic}/ack`;

/** `name{labels} value` lines of a scrape → value by series (labels as Prometheus prints them). */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** The value of the first series whose name and labels contain every given fragment. */
function value(series: Map<string, number>, name: string, ...labels: string[]): number | undefined {
  for (const [key, v] of series) {
    if (key.startsWith(`${name}{`) || key === name) {
      if (labels.every((label) => key.includes(label))) return v;
    }
  }
  return undefined;
}

/** Scrapes every 50 ms until `name` reads 1 (10 s at most) and returns the last scrape's series. */
async function scrapeUntilOne(url: string, name: string): Promise<Map<string, number>> {
  let lastText = '';
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    lastText = (await scrape(url)).text;
    if (value(parse(lastText), name) === 1) break;
  }
  return parse(lastText);
}

t.test('GET /metrics: the series of docs/operations.md move with traffic', async (t) => {
  const { url, mqttUrl } = await startTestServer(t, { config: { ...NO_RATE_LIMIT, nodeId: 'node-a' } });
  const before = await scrape(url);
  t.equal(before.status, 200);
  t.match(before.type, /^text\/plain; version=0\.0\.4/);
  const start = parse(before.text);
  for (const name of [
    'trackconf_connected_trackers',
    'trackconf_sqlite_wal_bytes',
    'trackconf_malformed_tracker_payloads_total',
    'process_cpu_seconds_total',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.not(value(start, name), undefined, `${name} is exposed`);
  }
  t.equal(value(start, 'trackconf_trackers', 'state="pending"'), 0, 'no tracker pending yet');
  t.ok((value(start, 'trackconf_trackers', 'state="none"') ?? 0) >= 6, 'the fleet starts without settings');
  t.equal(value(start, 'trackconf_update_delivered_seconds_count'), 0);
  t.match(before.text, /node="node-a"/, 'every series carries the node');

  const update = await post(url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  t.equal(update.body.success, true);
  await post(url, 'tracker/settings/tracking/read', { hash: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', tracker_id: TELFM.trackerId });
  await post(url, `tracker/${TELFM.deviceId}/secret-path`, { hash: ALICE.apiKey });
  await post(url, 'user/auth', { login: ALICE.login, password: 'wrong password' });
  t.equal(await connackCode(mqttUrl, trackerOptions({ ...TELFM, secret: 'wrong secret' })), 4);

  let series = parse((await scrape(url)).text);
  t.equal(value(series, 'trackconf_http_requests_total', 'call="tracker/settings/tracking/update"', 'code="0"'), 1, 'the update, by call and code 0');
  t.equal(value(series, 'trackconf_http_requests_total', 'call="tracker/settings/tracking/read"', 'code="4"'), 1, 'an unknown hash: code 4');
  t.equal(value(series, 'trackconf_http_requests_total', 'call="unknown"', 'code="111"'), 1, 'an unknown path: call unknown');
  t.equal(value(series, 'trackconf_http_requests_total', 'call="user/auth"', 'code="102"'), 1);
  t.notOk(/secret-path|356307042441013/.test([...series.keys()].join('\n')), 'no raw path or device id in any label');
  t.equal(value(series, 'trackconf_login_failures_total', 'reason="wrong_credentials"'), 1);
  t.equal(value(series, 'trackconf_mqtt_refused_connects_total', 'code="4"'), 1, 'the refused CONNECT by CONNACK code');
  t.equal(value(series, 'trackconf_trackers', 'state="pending"'), 1, 'the updated tracker is pending');
  t.ok((value(series, 'trackconf_sqlite_wal_bytes') ?? 0) > 0, 'the WAL has a size');

  // The tracker connects: the retained config is PUBACKed (delivered), then it acks (applied).
  const tracker = await connect(t, mqttUrl, trackerOptions(TELFM));
  await tracker.subscribeAsync(configTopic, { qos: 1 });
  series = await scrapeUntilOne(url, 'trackconf_update_delivered_seconds_count');
  t.equal(value(series, 'trackconf_update_delivered_seconds_count'), 1, 'accepted → delivered observed once');
  t.equal(value(series, 'trackconf_trackers', 'state="delivered"'), 1);
  t.equal(value(series, 'trackconf_connected_trackers'), 1);

  await tracker.publishAsync(ackTopic, JSON.stringify({ version: 1, status: 'applied' }), { qos: 1 });
  await tracker.publishAsync(ackTopic, 'not json', { qos: 1 });
  series = await scrapeUntilOne(url, 'trackconf_update_applied_seconds_count');
  t.equal(value(series, 'trackconf_update_applied_seconds_count'), 1, 'accepted → applied observed once');
  t.equal(value(series, 'trackconf_trackers', 'state="applied"'), 1);
  t.equal(value(series, 'trackconf_trackers', 'state="delivered"'), 0);
  t.equal(value(series, 'trackconf_malformed_tracker_payloads_total'), 1, 'the malformed ack counted');

  // A repeated ack is no state change: the histogram does not count it twice.
  await tracker.publishAsync(ackTopic, JSON.stringify({ version: 1, status: 'applied' }), { qos: 1 });
  await post(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId }); // flushes the answers
  series = parse((await scrape(url)).text);
  t.equal(value(series, 'trackconf_update_applied_seconds_count'), 1, 'still one');
  t.equal(value(series, 'trackconf_http_requests_total', 'call="tracker/settings/tracking/read"', 'code="0"'), 1, 'the read by call and code 0');
});

t.test('rate-limited requests are counted', async (t) => {
  const { url } = await startTestServer(t, { config: { rateLimit: { perCredential: 1, perAddress: 0 } } });
  const answers = await Promise.all(
    Array.from({ length: 5 }, () => post(url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId })),
  );
  const refused = answers.filter((a) => a.status === 429).length;
  t.ok(refused >= 1, `${refused} refused`);
  const series = parse((await scrape(url)).text);
  t.equal(value(series, 'trackconf_rate_limited_total', 'protocol="http"'), refused);
  t.equal(value(series, 'trackconf_http_requests_total', 'call="tracker/settings/tracking/read"', 'code="15"'), refused);
});

t.test('TRACKCONF_METRICS_TOKEN: /metrics needs the bearer token', async (t) => {
  const token = 'scrape-token-0123456789';
  const { url } = await startTestServer(t, { config: { metrics: { token } } });
  const without = await scrape(url);
  t.equal(without.status, 401, 'no Authorization: 401');
  t.notMatch(without.text, /trackconf_/, 'nothing of the metrics leaks');
  t.equal((await scrape(url, { authorization: 'Bearer wrong-token' })).status, 401, 'a wrong token: 401');
  t.equal((await scrape(url, { authorization: `Bearer ${token}x` })).status, 401, 'a longer token: 401');
  t.equal((await scrape(url, { authorization: token })).status, 401, 'the token without the scheme: 401');
  const ok = await scrape(url, { authorization: `Bearer ${token}` });
  t.equal(ok.status, 200, 'the token: 200');
  t.match(ok.text, /trackconf_http_requests_total/);
});

t.test('GET /health/live answers while the process runs; /health stays readiness', async (t) => {
  const { url } = await startTestServer(t);
  const live = await fetch(`${url}/health/live`);
  t.equal(live.status, 200);
  t.same(await live.json(), { status: 'alive' });
  const ready = await fetch(`${url}/health`);
  t.same(await ready.json(), { status: 'ok' });
});
