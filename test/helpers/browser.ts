import { existsSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import type { Test } from 'tap';
import { CHROMIUM, launchChromium } from '../../bench/lib/chromium.js';
import { tempDir } from './server.js';

export { CHROMIUM };

export const chromiumMissing = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

/**
 * One headless Chromium for a test file, with a throw-away profile, closed when the test ends.
 * Each page is its own tab, so its own sessionStorage (its own signed-in user).
 */
export async function launchBrowser(t: Test): Promise<BrowserContext> {
  const context = await launchChromium(tempDir(t));
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
