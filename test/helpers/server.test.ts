import t from 'tap';
import { startTestServer } from './server.js';

t.test('overrides of http and mqtt keep the loopback host and free ports', async (t) => {
  const { server } = await startTestServer(t, { fleet: null, config: { http: { bodyLimit: 1024 }, mqtt: { maxPayloadBytes: 1024 } } });
  t.equal(server.config.http.host, '127.0.0.1');
  t.equal(server.config.mqtt.host, '127.0.0.1');
  t.equal(server.config.http.bodyLimit, 1024, 'the override applies');
  t.notOk([8080, 1883, 8083].includes(server.ports.http), `http on ${server.ports.http}`);
  t.notOk([8080, 1883, 8083].includes(server.ports.mqtt ?? 0), `mqtt on ${server.ports.mqtt}`);
  t.notOk([8080, 1883, 8083].includes(server.ports.ws ?? 0), `ws on ${server.ports.ws}`);
});

t.test('a test server refuses the default public ports', async (t) => {
  await t.rejects(startTestServer(t, { fleet: null, config: { http: { port: 8080 } } }), /must not bind the default port\(s\) 8080/);
  await t.rejects(startTestServer(t, { fleet: null, config: { mqtt: { port: 1883 } } }), /1883/);
});
