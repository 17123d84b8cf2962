/**
 * The Chromium the page tests drive. By default the one inside the npm package
 * `@sparticuz/chromium` (a brotli-packed build that it unpacks to the OS temp folder on first use),
 * so `npm ci && npm test` needs no system browser and downloads nothing. PVL_CHROMIUM names another
 * binary (Debian's /usr/bin/chromium, say); a name that does not exist is an error, never a skip.
 */
import { access, constants } from 'node:fs/promises';
import packedChromium from '@sparticuz/chromium';
import { chromium, type Browser } from 'playwright-core';

/**
 * Flags for a headless browser on a closed network, run as root: without the
 * background-networking ones Chromium keeps dialling Google's hosts and is refused.
 */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--no-default-browser-check',
];

export async function chromiumExecutable(): Promise<string> {
  const chosen = process.env.PVL_CHROMIUM;
  if (chosen) {
    await access(chosen, constants.X_OK).catch(() => {
      throw new Error(`PVL_CHROMIUM=${chosen} is not an executable file`);
    });
    return chosen;
  }
  return packedChromium.executablePath();
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: await chromiumExecutable(), headless: true, args: FLAGS });
}
