import { type Browser, chromium } from 'playwright-core';
import { CHROMIUM_ARGS, ensureChromium } from './chromium';

/**
 * Launches the provisioned Chromium headless through playwright-core (which gives it a fresh
 * temporary profile). Close the browser when done.
 */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    // playwright-core passes its own headless flag.
    args: CHROMIUM_ARGS.filter((a) => a !== '--headless'),
  });
}
