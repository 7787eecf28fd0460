import { launchChromium } from '@anomalia/test-browser';
const [, , file, out, selector] = process.argv;
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
await page.goto(`file://${file}`);
if (selector) {
  const el = await page.$(selector);
  await el.screenshot({ path: out });
} else await page.screenshot({ path: out, fullPage: true });
await browser.close();
