import { request } from 'node:https';
import t from 'tap';
import { ALICE, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { collect, connect, trackerOptions, until } from '../helpers/mqtt.js';
import { freePort, login, post, startTestServer } from '../helpers/server.js';
import { selfSignedCertificate } from '../helpers/tls.js';

const topic = `trackers/${TELFM.deviceId}/config/tracking`;

t.test('MQTT over WebSocket at /mqtt', async (t) => {
  const { url, wsUrl } = await startTestServer(t);
  const hash = await login(url, ALICE);
  await post(url, 'tracker/settings/tracking/update', { hash, tracker_id: TELFM.trackerId, tracking_settings: VALID_TELFM });
  const tracker = await connect(t, wsUrl, trackerOptions(TELFM));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1);
  t.same(received[0]!.payload.settings, VALID_TELFM);
});

t.test('MQTT over TLS and the HTTP API over HTTPS with a configured certificate', async (t) => {
  const { certFile, keyFile, cert } = selfSignedCertificate(t.testdir());
  const [mqttsPort, httpsPort] = [await freePort(), await freePort()];
  const { server } = await startTestServer(t, { config: { tls: { cert: certFile, key: keyFile, mqttsPort, httpsPort } } });
  t.equal(server.ports.mqtts, mqttsPort);
  t.equal(server.ports.https, httpsPort);

  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: httpsPort,
        path: '/user/auth',
        method: 'POST',
        ca: cert,
        servername: 'localhost',
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ login: ALICE.login, password: ALICE.password }));
  });
  t.equal(answer.status, 200);
  const hash = (JSON.parse(answer.body) as { hash: string }).hash;
  t.match(hash, /^[0-9a-f]{32}$/, 'user/auth over HTTPS');

  await post(`http://127.0.0.1:${server.ports.http}`, 'tracker/settings/tracking/update', {
    hash,
    tracker_id: TELFM.trackerId,
    tracking_settings: VALID_TELFM,
  });
  const tracker = await connect(t, `mqtts://127.0.0.1:${mqttsPort}`, trackerOptions(TELFM, { ca: cert, servername: 'localhost' }));
  const received = collect(tracker);
  await tracker.subscribeAsync(topic, { qos: 1 });
  await until(() => received.length === 1);
  t.equal(received[0]!.payload.version, 1, 'config over TLS');
});
