import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's Chromium (.ci/run installs it); playwright-core downloads no browser. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Headless Chromium with its profile in `profileDir`, as the console tests and the console bench
 * run it: no sandbox (containers), no GPU, and none of the browser's own background traffic.
 */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
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
}
