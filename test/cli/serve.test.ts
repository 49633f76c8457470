import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, builtCli, runCli } from '../helpers/cli.js';
import { freePort, tempDir } from '../helpers/server.js';

t.test('an invalid configuration stops the start with one readable line and exit 2', async (t) => {
  const db = join(tempDir(t), 't.db');
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ TRACKCONF_HTTP_PORT: 'eighty' }, /TRACKCONF_HTTP_PORT="eighty": must be a whole number/],
    [{ TRACKCONF_HTTP_PORT: '70000' }, /http\.port: .*65535/],
    [{ TRACKCONF_LOG_LEVEL: 'loud' }, /logLevel: /],
    [{ TRACKCONF_TLS_CERT: '/nonexistent/cert.pem' }, /TRACKCONF_TLS_CERT and TRACKCONF_TLS_KEY must be set together/],
    [
      { TRACKCONF_TLS_CERT: '/nonexistent/cert.pem', TRACKCONF_TLS_KEY: '/nonexistent/key.pem' },
      /TLS certificate \/nonexistent\/cert.pem: cannot be read \(ENOENT\)/,
    ],
    [{ TRACKCONF_CONFIG: '/nonexistent/trackconf.json' }, /TRACKCONF_CONFIG \/nonexistent\/trackconf.json: cannot be read/],
  ];
  for (const [env, message] of cases) {
    const result = runCli(db, ['serve'], env);
    t.equal(result.code, 2, `exit 2 for ${JSON.stringify(env)}`);
    t.match(result.stderr, message);
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('trackconf: database '));
    t.equal(lines.length, 1, 'one line (besides the database it names), no stack trace');
  }
});

t.test('serve: /health when ready, SIGTERM closes everything and exits 0', async (t) => {
  const dir = tempDir(t);
  const [http, mqtt] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [builtCli(), 'serve'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TRACKCONF_CONFIG: '',
      TRACKCONF_DB: join(dir, 't.db'),
      TRACKCONF_HTTP_HOST: '127.0.0.1',
      TRACKCONF_HTTP_PORT: String(http),
      TRACKCONF_MQTT_HOST: '127.0.0.1',
      TRACKCONF_MQTT_PORT: String(mqtt),
      TRACKCONF_MQTT_WS_PORT: '0',
      TRACKCONF_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let health: Response | undefined;
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    health = await fetch(`http://127.0.0.1:${http}/health`).catch(() => undefined);
    if (health?.ok) break;
  }
  t.equal(health?.status, 200);
  t.same(await health?.json(), { status: 'ok' });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit code 0');
  t.match(output, /"msg":"trackconf ready"/);
  t.match(output, /"signal":"SIGTERM","msg":"shutting down"/);
  const logs = output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { level: number });
  t.ok(
    logs.every((l) => typeof l.level === 'number'),
    'every log line is structured JSON',
  );
});
