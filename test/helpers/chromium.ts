import { existsSync } from 'node:fs';
import puppeteer, { Browser } from 'puppeteer-core';

/** Debian's chromium (`.ci/run` installs it when missing); CHROMIUM_PATH names another binary. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * A headless Chromium for the real-browser tests. --no-sandbox: CI runs as root, where Chromium's
 * sandbox refuses to start. Fails with a message saying how to get the browser, not a spawn error.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: install it (apt-get install -y --no-install-recommends chromium, as .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}
