import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from './cli.js';

/**
 * Debian's Chromium driven by playwright-core: no browser is ever downloaded. The flags keep it
 * from reaching for Google's services, which this machine's closed network refuses (slowly).
 */
export const CHROMIUM = process.env.WEARHOOK_TEST_CHROMIUM ?? '/usr/bin/chromium';

export const ARTIFACTS = path.join(ROOT, 'test', 'artifacts');

export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`The browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set WEARHOOK_TEST_CHROMIUM).`);
  }
  // playwright-core gives each launch a fresh, empty profile (--user-data-dir) of its own.
  const browser = await chromium.launch({
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
  return { browser, close: () => browser.close() };
}
