import { ensureChromium } from './chromium';

/**
 * Vitest globalSetup: makes sure a Chromium exists before any test file runs (installing Debian's
 * when possible), so a fresh machine needs nothing beyond `pnpm install && pnpm test`.
 */
export default function setup(): void {
  ensureChromium();
}
