/**
 * The operator console in a real Chromium (docs/console.md): sign in, filter, edit with a field
 * error then a valid change, the state following a simulated tracker, a conflict, revert, bulk dry
 * run and apply, read-only views, sign out. One browser for the file; accessible names only.
 * With CONSOLE_SCREENSHOTS=<folder>, it also saves the screenshots of docs/console.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import { chromiumMissing, launchBrowser, signIn } from '../helpers/browser.js';
import { ALICE, ARRAYS, BLOCKED, BOB, CLONE_ID, DAVE, fleetFile, NO_PROFILE, NUMBERS, TELFM, VALID_TELFM, type FleetDevice } from '../helpers/fleet.js';
import { NO_RATE_LIMIT } from '../helpers/http.js';
import { connect, trackerOptions } from '../helpers/mqtt.js';
import { post, startTestServer } from '../helpers/server.js';

const UPDATE = 'tracker/settings/tracking/update';
const WAIT = { timeout: 30_000 };
const shots = process.env.CONSOLE_SCREENSHOTS;

async function screenshot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

function example(model: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(`config/profiles/${model}.json`, 'utf8')) as { example: Record<string, unknown> }).example;
}

/** The message beside a field: the elements its aria-describedby names. */
async function described(page: Page, field: Locator): Promise<string> {
  const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).innerText()));
  return texts.join(' ');
}

t.test('the operator console', { skip: chromiumMissing }, async (t) => {
  t.setTimeout(240_000);
  const fleet = fleetFile();
  const grouped = [ARRAYS.trackerId, NUMBERS.trackerId];
  const { url, mqttUrl } = await startTestServer(t, {
    config: NO_RATE_LIMIT,
    fleet: {
      ...fleet,
      groups: [{ id: 7, owner: ALICE.login, title: 'North depot' }],
      trackers: fleet.trackers.map((tr) => (grouped.includes(tr.id) ? { ...tr, group_id: 7 } : tr)),
    },
  });
  const api = (path: string, params: Record<string, unknown>, hash = ALICE.apiKey) => post(url, path, { hash, ...params });
  /** A tracker that acknowledges every version it receives as applied. */
  const acking = async (device: FleetDevice) => {
    const client = await connect(t, mqttUrl, trackerOptions(device));
    client.on('message', (_topic, payload) => {
      const { version, settings } = JSON.parse(payload.toString()) as { version: number; settings: unknown };
      client.publish(`trackers/${device.deviceId}/config/tracking/ack`, JSON.stringify({ version, status: 'applied', settings }), { qos: 1 });
    });
    await client.subscribeAsync(`trackers/${device.deviceId}/config/tracking`, { qos: 1 });
  };

  const context = await launchBrowser(t);
  const requested: string[] = [];
  context.on('request', (request) => requested.push(request.url()));
  const page = await signIn(context, url, ALICE);
  const table = page.getByRole('table');
  const rowOf = (label: string) => table.getByRole('row').filter({ has: page.getByRole('link', { name: label, exact: true }) });

  await t.test('sign in: the table, and the hash only in sessionStorage', async (t) => {
    await rowOf('Tracker 1007').waitFor();
    t.equal(await table.getByRole('row').count(), 7, 'a header row and the six trackers alice sees');
    t.equal(await page.getByRole('grid').count(), 0, 'a table, not a grid');
    t.match(await rowOf('Tracker 1003').innerText(), /blocked/);
    const hash = await page.evaluate(() => sessionStorage.getItem('trackconf.session'));
    t.match(hash, /^[0-9a-f]{32}$/);
    t.equal(await page.evaluate(() => document.cookie), '');
    t.notOk(
      requested.some((u) => u.includes(hash!)),
      'never in a URL',
    );
    await screenshot(page, 'trackers');
  });

  await t.test('filter by text, model, group and state', async (t) => {
    const rows = table.getByRole('row');
    await page.getByLabel('Filter').fill('jt703');
    await t.resolves(rowOf('Tracker 1005').waitFor());
    t.equal(await rows.count(), 2);
    await page.getByLabel('Filter').fill('');
    await page.getByLabel('Model').selectOption('tramigo');
    t.equal(await rows.count(), 2);
    t.equal(await rowOf('Tracker 1006').count(), 1);
    await page.getByLabel('Model').selectOption('');
    await page.getByLabel('Group').selectOption({ label: 'North depot' });
    t.equal(await rows.count(), 3);
    await page.getByLabel('Group').selectOption('');
    await page.getByLabel('State').selectOption('blocked');
    t.equal(await rows.count(), 2);
    t.equal(await rowOf('Tracker 1003').count(), 1);
    await page.getByLabel('State').selectOption('');
    t.equal(await rows.count(), 7);
  });

  await t.test('the state follows a change live, without reloading', async (t) => {
    t.equal(await api(UPDATE, { tracker_id: ARRAYS.trackerId, tracking_settings: example('jointech_jt703') }).then((a) => a.body.success), true);
    t.equal(await api(UPDATE, { tracker_id: NUMBERS.trackerId, tracking_settings: example('tramigo') }).then((a) => a.body.success), true);
    await rowOf('Tracker 1005').getByText('pending', { exact: true }).waitFor(WAIT);
    t.match(await rowOf('Tracker 1005').innerText(), /v1/);
  });

  await t.test('edit: a field error beside the field, a preview, then apply and the tracker applies it', async (t) => {
    await page.getByRole('link', { name: 'Tracker 1001', exact: true }).click();
    const interval = page.getByLabel('tracking_interval', { exact: true });
    await interval.waitFor();
    for (const [field, value] of Object.entries(VALID_TELFM)) {
      const control = page.getByLabel(field, { exact: true });
      if (typeof value === 'number') await control.fill(String(value));
      else await control.selectOption(value);
    }
    await interval.fill('10');
    await page.getByRole('button', { name: 'Apply' }).click();
    const bad = { ...VALID_TELFM, tracking_interval: 10 };
    const apiError = (await api(UPDATE, { tracker_id: TELFM.trackerId, tracking_settings: bad, dry_run: true })).body.errors[0].error as string;
    await page.locator('[aria-invalid="true"]').waitFor(WAIT);
    t.match(await described(page, interval), apiError, 'the API’s error text, linked by aria-describedby');
    await screenshot(page, 'tracker-error');

    await interval.fill('60');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByText('Preview: as v1').waitFor(WAIT);
    t.match(await page.getByRole('status').filter({ hasText: 'Preview' }).innerText(), /tracking_interval: 60/);
    t.equal((await api('tracker/settings/tracking/history', { tracker_id: TELFM.trackerId })).body.list.length, 0, 'a preview stores nothing');

    await page.getByRole('button', { name: 'Apply' }).click();
    const sync = page.getByRole('region', { name: 'Sync' });
    await sync.getByText('pending', { exact: true }).waitFor(WAIT);
    await acking(TELFM);
    await sync.getByText('applied', { exact: true }).waitFor(WAIT);
    const history = page.getByRole('region', { name: 'History' });
    await history.getByRole('article', { name: 'v1' }).waitFor(WAIT);
    const reported = page.getByRole('region', { name: 'Reported' });
    await reported.getByRole('row', { name: /^tracking_interval/ }).waitFor(WAIT);
    t.match(await reported.getByRole('row', { name: /^tracking_interval/ }).innerText(), /60\s+60/, 'reported beside accepted');
    await screenshot(page, 'tracker');
  });

  await t.test('a concurrent change is shown as a conflict', async (t) => {
    await page.getByLabel('tracking_interval', { exact: true }).fill('90');
    t.equal((await api(UPDATE, { tracker_id: TELFM.trackerId, tracking_settings: { tracking_interval: 120 } })).body.success, true);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(/conflict/).waitFor(WAIT);
    t.equal((await api('tracker/settings/tracking/read', { tracker_id: TELFM.trackerId })).body.value.tracking_interval, 120, 'nothing applied');
    await page.getByRole('button', { name: 'Reload settings' }).click();
    await page.getByRole('heading', { name: 'Settings (accepted v2)' }).waitFor(WAIT);
    t.equal(await page.getByLabel('tracking_interval', { exact: true }).inputValue(), '120');
  });

  await t.test('revert to an earlier version', async (t) => {
    const history = page.getByRole('region', { name: 'History' });
    await history.getByRole('article', { name: 'v1' }).getByRole('button', { name: 'Revert' }).click();
    await history.getByRole('article', { name: 'v3' }).waitFor(WAIT);
    t.match(await history.getByRole('article', { name: 'v3' }).innerText(), /revert/);
    const read = await api('tracker/settings/tracking/read', { tracker_id: TELFM.trackerId });
    t.equal(read.body.value.tracking_interval, 60);
    await page.getByRole('region', { name: 'Sync' }).getByText('applied', { exact: true }).waitFor(WAIT);
  });

  await t.test('bulk: dry run per tracker, apply, then the progress until every tracker answered', async (t) => {
    await page.getByRole('link', { name: 'Trackers', exact: true }).click();
    await rowOf('Tracker 1001').getByText('v3').waitFor(WAIT);
    await page.getByLabel('Group').selectOption({ label: 'North depot' });
    await page.getByRole('button', { name: 'Select all filtered' }).click();
    await page.getByLabel('Group').selectOption('');
    await rowOf('Tracker 1004').getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Bulk edit' }).click();
    const interval = page.getByLabel('tracking_interval', { exact: true });
    await interval.fill('300');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const results = page.getByRole('region', { name: 'Results' });
    await results.getByText(/Dry run: 2 would change, 1 would fail/).waitFor(WAIT);
    t.match(await results.getByRole('row').filter({ hasText: 'Tracker 1004' }).innerText(), /would fail/);
    t.match(await results.getByRole('row').filter({ hasText: 'Tracker 1005' }).innerText(), /would change[\s\S]*tracking_interval/);
    await screenshot(page, 'bulk-dry-run');
    await page.getByRole('button', { name: 'Apply to selected' }).click();
    const progress = page.getByRole('region', { name: 'Progress' });
    await progress.getByText(/pending: 2/).waitFor(WAIT);
    await acking(ARRAYS);
    await acking(NUMBERS);
    await progress.getByText(/Every tracker has answered/).waitFor(WAIT);
    t.match(await progress.innerText(), /applied: 2/);
    await screenshot(page, 'bulk');
  });

  await t.test('read-only views say why', async (t) => {
    const dave = await signIn(context, url, DAVE);
    await dave.getByRole('link', { name: 'Tracker 1001', exact: true }).click();
    await dave.getByText(/not permitted/).waitFor(WAIT);
    t.ok(await dave.getByRole('button', { name: 'Apply' }).isDisabled());
    t.ok(await dave.getByLabel('tracking_interval', { exact: true }).isDisabled());
    await screenshot(dave, 'read-only');
    t.ok(await dave.getByRole('button', { name: 'Sign out' }).isVisible());
    await dave.close();
    const bob = await signIn(context, url, BOB);
    await bob.getByRole('link', { name: 'Truck 1 (shared)' }).click();
    await bob.getByText(/Read-only: .*clone/).waitFor(WAIT);
    t.ok(await bob.getByRole('button', { name: 'Apply' }).isDisabled());
    await bob.close();
    for (const [device, reason] of [
      [BLOCKED, 'blocked'],
      [NO_PROFILE, 'no tracking settings'],
    ] as const) {
      await page.goto(`${url}/console/#/tracker/${device.trackerId}`);
      await page.getByText(new RegExp(`Read-only: .*${reason}`)).waitFor(WAIT);
      t.pass(`${device.trackerId}: ${reason}`);
    }
    t.equal(CLONE_ID, 1002);
  });

  await t.test('sign out ends the session', async (t) => {
    const hash = await page.evaluate(() => sessionStorage.getItem('trackconf.session'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor(WAIT);
    t.equal(await page.evaluate(() => sessionStorage.getItem('trackconf.session')), null);
    t.equal((await post(url, 'tracker/list', { hash })).body.status.code, 4, 'user/logout ended it on the server');
    await screenshot(page, 'sign-in');
    t.notOk(
      requested.some((u) => u.includes(hash!)),
      'the hash was never in a URL',
    );
  });

  await t.test('keyboard only: sign in, open a tracker, come back', async (t) => {
    t.ok(await page.getByLabel('Login').evaluate((el) => el === document.activeElement), 'the login field has focus');
    await page.keyboard.type(ALICE.login);
    await page.keyboard.press('Tab');
    await page.keyboard.type(ALICE.password);
    await page.keyboard.press('Enter');
    const link = page.getByRole('link', { name: 'Tracker 1006', exact: true });
    await link.waitFor(WAIT);
    await link.focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('tracking_distance', { exact: true }).waitFor(WAIT);
    t.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new view’s heading');
    await page.getByRole('link', { name: 'Trackers', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Filter').waitFor(WAIT);
    await page.getByLabel('Filter').focus();
    await page.keyboard.type('1006');
    t.equal(await table.getByRole('row').count(), 2, 'the filter follows typing');
  });
});
