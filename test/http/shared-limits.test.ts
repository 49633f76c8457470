/**
 * docs/api.md#limits on several nodes: with a Redis, the rate limits per credential and per address,
 * the MQTT connect limit per address and login throttling count every node's requests. Two nodes
 * are two servers in this process on one database (a SQLite file, then a PostgreSQL database) and one
 * real Redis; everything goes over sockets.
 * docs/reliability.md#8-redis-unreachable: Redis gone, rate limits admit and password checks are refused.
 */
import type { Socket } from 'node:net';
import t, { type Test } from 'tap';
import { ALICE, BOB, TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT, expectError, expectOk } from '../helpers/http.js';
import { mqttBytes, rawSocket, socketClosed } from '../helpers/lite-mqtt.js';
import { connackCode, eventually } from '../helpers/mqtt.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freePort, get, post, startTestServer, type ApiAnswer, type TestServer } from '../helpers/server.js';
import { BACKENDS, twoNodesOn, type Backend } from '../helpers/two-nodes.js';

/** Two nodes of one service: one database (a SQLite file or a PostgreSQL database), one Redis. */
async function twoNodes(t: Test, backend: Backend, config: Record<string, unknown>): Promise<{ a: TestServer; b: TestServer; redis: RedisServer }> {
  const redis = await startRedis(t);
  const { a, b } = await twoNodesOn(t, backend, { ...config, redisUrl: redis.url });
  return { a, b, redis };
}

/** Sends `send(node)` alternately to each node until one answers 429; how many passed before. */
async function exhaust(t: Test, nodes: readonly TestServer[], send: (node: TestServer) => Promise<ApiAnswer>, limit: number): Promise<number> {
  for (let ok = 0; ok < limit * 5; ok++) {
    const answer = await send(nodes[ok % nodes.length]!);
    if (answer.status === 429) {
      expectError(t, answer, 'tooManyRequests', undefined, `after ${ok} requests`);
      return ok;
    }
    t.equal(answer.status, 200, 'below the limit');
  }
  t.fail('no 429');
  return limit * 5;
}

for (const backend of BACKENDS) {
  t.test(backend, async (t) => {
    t.test('per credential: N requests split across two nodes pass, the next is refused on either', async (t) => {
      const { a, b } = await twoNodes(t, backend, { rateLimit: { perCredential: 4, perAddress: 0 } });
      const list = (node: TestServer) => get(node.url, 'tracker/list', { hash: ALICE.apiKey });
      const passed = await exhaust(t, [a, b], list, 4);
      // a bucket refills 4 tokens a second: one more may slip in; on two separate counts 8 would pass
      t.ok(passed >= 4 && passed <= 5, `4 passed across both nodes (${passed})`);
      const [onA, onB] = await Promise.all([list(a), list(b)]);
      expectError(t, onA, 'tooManyRequests', undefined, 'then node A refuses');
      expectError(t, onB, 'tooManyRequests', undefined, 'and node B refuses');
      expectOk(t, await get(b.url, 'tracker/list', { hash: BOB.apiKey }), 'another credential is not limited');
    });

    t.test('per address: counted across both nodes, user/auth included', async (t) => {
      const { a, b } = await twoNodes(t, backend, { rateLimit: { perCredential: 0, perAddress: 4 } });
      const passed = await exhaust(t, [a, b], (node) => get(node.url, 'tracker/list', { hash: ALICE.apiKey }), 4);
      t.ok(passed >= 4 && passed <= 5, `4 passed across both nodes (${passed})`);
      const [onA, onB] = await Promise.all([
        get(a.url, 'tracker/list', { hash: BOB.apiKey }),
        post(b.url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
      ]);
      expectError(t, onA, 'tooManyRequests', undefined, 'another credential on node A');
      expectError(t, onB, 'tooManyRequests', undefined, 'user/auth on node B');
    });

    /** Raw CONNECTs from one address to the given MQTT ports at once: how many got a CONNACK (reached authentication). */
    async function connackCount(ports: readonly number[]): Promise<number> {
      const sockets: Socket[] = await Promise.all(ports.map((port) => rawSocket(port)));
      const answered = sockets.map((socket) => {
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => undefined);
        return chunks;
      });
      for (const [i, socket] of sockets.entries()) {
        socket.write(
          mqttBytes({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: TELFM.deviceId,
            clean: true,
            keepalive: 0,
            username: TELFM.deviceId,
            password: Buffer.from(`wrong-${i}`),
          }),
        );
      }
      await Promise.all(sockets.map((s) => socketClosed(s, 10_000)));
      return answered.filter((chunks) => Buffer.concat(chunks)[0] === 0x20).length;
    }

    t.test('MQTT connects per address: a burst split across two nodes reaches authentication N times', async (t) => {
      const { a, b } = await twoNodes(t, backend, { ...NO_RATE_LIMIT, mqtt: { connectsPerSecondPerAddress: 3 } });
      const ports = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).server.ports.mqtt!);
      const connacks = await connackCount(ports);
      // 3 tokens; one more may come back while the burst runs; on two separate counts 6 would pass
      t.ok(connacks >= 3 && connacks <= 4, `${connacks} of 12 CONNECTs (6 per node) got a CONNACK`);
    });

    t.test('failed logins on node A count on node B, for user/auth and MQTT observers', async (t) => {
      const { a, b } = await twoNodes(t, backend, { ...NO_RATE_LIMIT, login: { maxFailures: 3, windowSeconds: 900 } });
      expectError(t, await post(a.url, 'user/auth', { login: ALICE.login, password: 'wrong-1' }), 'wrongLogin', undefined, 'failure 1 on A');
      expectError(t, await post(b.url, 'user/auth', { login: ALICE.login, password: 'wrong-2' }), 'wrongLogin', undefined, 'failure 2 on B');
      t.equal(await connackCode(a.mqttUrl, { username: ALICE.login, password: 'wrong-3', clientId: 'guess-3' }), 4, 'failure 3 over MQTT on A: 4');
      const right = { login: ALICE.login.toUpperCase(), password: ALICE.password };
      expectError(t, await post(b.url, 'user/auth', right), 'loginAttemptsExceeded', undefined, 'the right password on B');
      expectError(t, await post(a.url, 'user/auth', right), 'loginAttemptsExceeded', undefined, 'the right password on A');
      t.equal(await connackCode(b.mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: 'dash' }), 5, 'an observer on B: 5');
      expectOk(t, await post(b.url, 'user/auth', { login: BOB.login, password: BOB.password }), 'another login is not affected');
    });

    t.test('a concurrent burst of guesses split across two nodes gets at most maxFailures password checks in total', async (t) => {
      const { a, b } = await twoNodes(t, backend, { ...NO_RATE_LIMIT, login: { maxFailures: 10, windowSeconds: 900 } });
      const guess = (node: TestServer, i: number) => post(node.url, 'user/auth', { login: ALICE.login, password: `guess-${i}` });
      const answers = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => guess(i % 2 === 0 ? a : b, i)),
        post(b.url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
        ...Array.from({ length: 20 }, (_, i) => guess(i % 2 === 0 ? b : a, 20 + i)),
      ]);
      const codes = answers.map((answer) => (answer.body.success === true ? 0 : (answer.body.status?.code as number)));
      const checked = codes.filter((code) => code === 102 || code === 0).length;
      t.ok(checked <= 10, `${checked} of 41 concurrent user/auth on two nodes had their password checked (102 or success): at most 10`);
      t.equal(codes.filter((code) => code === 105).length, 41 - checked, 'every other one: 105');
      expectError(
        t,
        await post(a.url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
        'loginAttemptsExceeded',
        undefined,
        'after the burst, on A',
      );
    });

    t.test('Redis unreachable: rate limits admit (fail open), password checks are refused (fail closed)', async (t) => {
      const { a, b, redis } = await twoNodes(t, backend, {
        rateLimit: { perCredential: 1, perAddress: 0 },
        mqtt: { connectsPerSecondPerAddress: 1 },
        login: { maxFailures: 3, windowSeconds: 900 },
      });
      expectOk(t, await get(a.url, 'tracker/list', { hash: ALICE.apiKey }), 'with Redis: the one request a second passes');
      expectError(t, await get(b.url, 'tracker/list', { hash: ALICE.apiKey }), 'tooManyRequests', undefined, 'the next one on B is refused');

      process.kill(redis.pid, 'SIGKILL');
      await redis.stop();
      for (const [name, node] of [
        ['A', a],
        ['B', b],
      ] as const) {
        for (let i = 0; i < 3; i++) expectOk(t, await get(node.url, 'tracker/list', { hash: ALICE.apiKey }), `Redis gone: request ${i + 1} on ${name} passes`);
        expectError(
          t,
          await post(node.url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
          'tooManyRequests',
          undefined,
          `user/auth on ${name}: 15`,
        );
        t.equal(
          await connackCode(node.mqttUrl, { username: ALICE.login, password: ALICE.password, clientId: `dash-${name}` }),
          3,
          `an observer password on ${name}: CONNACK 3`,
        );
        // MQTT sessions themselves live in Redis with several nodes (docs/scaling.md#when-something-fails)
      }
    });

    t.test('Redis back on its address: the nodes count together again', async (t) => {
      const { a, b, redis } = await twoNodes(t, backend, { rateLimit: { perCredential: 1, perAddress: 0 }, login: { maxFailures: 3, windowSeconds: 900 } });
      process.kill(redis.pid, 'SIGKILL');
      await redis.stop();
      expectError(
        t,
        await post(a.url, 'user/auth', { login: ALICE.login, password: ALICE.password }),
        'tooManyRequests',
        undefined,
        'Redis gone: user/auth 15',
      );
      await startRedis(t, { port: redis.port });
      // the nodes reconnect on their own (within a few seconds): a login is checked again
      const checked = async (node: TestServer, password: string, code: number) =>
        ((await post(node.url, 'user/auth', { login: BOB.login, password })).body.status?.code ?? 0) === code;
      await eventually(() => checked(b, BOB.password, 0), 20_000, 'a login checked on B');
      await eventually(() => checked(a, 'wrong', 102), 20_000, 'a login checked on A');
      t.pass('both nodes check passwords again');
      const list = (node: TestServer) => get(node.url, 'tracker/list', { hash: ALICE.apiKey });
      const passed = await exhaust(t, [b, a], list, 1);
      t.ok(passed >= 1 && passed <= 2, `the rate limit counts across both nodes again (${passed} passed)`);
    });
  });
}

t.test('a node whose Redis cannot be reached at start does not start', async (t) => {
  const port = await freePort();
  await t.rejects(startTestServer(t, { config: { redisUrl: `redis://127.0.0.1:${port}` } }), {
    name: 'ConfigError',
    message: /^TRACKCONF_REDIS_URL: cannot connect to Redis/,
  });
});
