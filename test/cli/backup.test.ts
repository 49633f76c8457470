import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT, builtCli, runCli } from '../helpers/cli.js';
import { ALICE, ARRAYS, FORMATS, NUMBERS, TELFM, VALID_TELFM } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { post, startTestServer, tempDir } from '../helpers/server.js';
import { sqliteDb } from '../../src/store/index.js';

/** Runs the built CLI without blocking this process (the service under test lives in it). */
function runCliAsync(db: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [builtCli(), ...args], {
    cwd: ROOT,
    env: { ...process.env, TRACKCONF_DB: db, TRACKCONF_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

t.test('backup while updates stream in: the copy holds every update answered before it began', async (t) => {
  const { url, dbFile } = await startTestServer(t, { config: NO_RATE_LIMIT });
  const devices = [TELFM, ARRAYS, NUMBERS, FORMATS];
  // A few hundred versions first, so the copy takes several steps.
  const answered: Array<{ trackerId: number; version: number; at: number; interval: number }> = [];
  let stop = false;
  let n = 0;
  const writer = async (trackerId: number) => {
    while (!stop) {
      const interval = 30 + (n++ % 500);
      const settings = trackerId === TELFM.trackerId ? { ...VALID_TELFM, tracking_interval: interval } : {};
      const answer = await post(url, 'tracker/settings/tracking/update', { hash: ALICE.apiKey, tracker_id: trackerId, tracking_settings: settings });
      if (answer.body.success === true) answered.push({ trackerId, version: answer.body.sync.version as number, at: Date.now(), interval });
    }
  };
  const writers = devices.map((d) => writer(d.trackerId));
  while (answered.length < 200) await new Promise((r) => setTimeout(r, 20));

  const target = join(tempDir(t), 'copy.db');
  const began = Date.now();
  const answeredBefore = answered.filter((a) => a.at < began);
  // Two pages per step: the copy takes many steps while the service commits between them.
  const result = await runCliAsync(dbFile, ['backup', target, '--step', '2']);
  const answeredDuring = answered.length - answeredBefore.length;
  stop = true;
  await Promise.all(writers);

  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line on stdout');
  const report = JSON.parse(lines[0]!) as { backup: string; pages: number; bytes: number };
  t.equal(report.backup, target);
  t.ok(report.pages > 0 && report.bytes > 0, 'pages and bytes reported');
  t.match(result.stderr, /backup: 100% /, 'progress on stderr');
  t.ok(answeredDuring > 0, `the service kept answering during the backup (${answeredDuring} updates)`);

  const copy = await startTestServer(t, { dbFile: target, fleet: null, config: NO_RATE_LIMIT });
  const db = sqliteDb(copy.server.store);
  const version = db.prepare<[number, number], { settings: string }>(
    `SELECT v.settings FROM settings_versions v JOIN trackers t ON t.device = v.device WHERE t.id = ? AND v.version = ?`,
  );
  const missing = answeredBefore.filter((a) => version.get(a.trackerId, a.version) === undefined);
  t.same(missing, [], `all ${answeredBefore.length} updates answered before the backup are in the copy`);
  const telfm = answeredBefore.filter((a) => a.trackerId === TELFM.trackerId).at(-1)!;
  t.equal((JSON.parse(version.get(TELFM.trackerId, telfm.version)!.settings) as { tracking_interval: number }).tracking_interval, telfm.interval);
  // The service on the copy answers from it.
  const read = await post(copy.url, 'tracker/settings/tracking/read', { hash: ALICE.apiKey, tracker_id: TELFM.trackerId });
  t.equal(read.body.success, true);
  t.ok(read.body.sync.version >= telfm.version, 'the copy serves at least the last version answered before the backup');
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok');
});

t.test('backup refuses an existing file unless --force, and PostgreSQL', async (t) => {
  const { dbFile } = await startTestServer(t);
  const target = join(tempDir(t), 'exists.db');
  writeFileSync(target, 'not a database');
  const refused = runCli(dbFile, ['backup', target]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /exists \(--force replaces it\)/);
  t.equal(refused.stdout, '');
  const forced = runCli(dbFile, ['backup', target, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.match(JSON.parse(forced.stdout) as object, { backup: target });

  const missing = runCli(dbFile, ['backup']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /usage: trackconf backup <file>/);

  const other = join(tempDir(t), 'pg.db');
  const pg = runCli(dbFile, ['backup', other], { TRACKCONF_DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/trackconf' });
  t.equal(pg.code, 2);
  t.equal(pg.stderr.trim().split('\n').length, 1, 'one line');
  t.match(pg.stderr, /pg_dump/);
  t.notOk(existsSync(other), 'nothing written');
});
