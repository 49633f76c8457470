import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Test } from 'tap';
import { tempDir } from './server.js';

/** Debian's Chromium (.ci/run installs it); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

export const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

/**
 * One headless Chromium for a test file, with a throw-away profile, closed when the test ends.
 * Each page is its own tab, so its own sessionStorage (its own signed-in user).
 */
export async function launchBrowser(t: Test): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(tempDir(t), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => context.close());
  return context;
}

/** Opens the console in a new tab and signs in through its form. */
export async function signIn(context: BrowserContext, url: string, user: { login: string; password: string }): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(`${url}/console/`);
  await page.getByLabel('Login').fill(user.login);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('table').getByRole('row').nth(1).waitFor();
  return page;
}
