import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BrowserUnavailableError, ensureChromium, findChromium } from './chromium';
import { launchChromium } from './launch';

const dir = mkdtempSync(join(tmpdir(), 'anomalia-test-browser-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('findChromium', () => {
  it('takes CHROMIUM_PATH when it is an executable file, and refuses anything else there', () => {
    const exe = join(dir, 'chrome');
    writeFileSync(exe, '#!/bin/sh\n');
    chmodSync(exe, 0o755);
    expect(findChromium({ CHROMIUM_PATH: exe })).toBe(exe);
    const plain = join(dir, 'not-executable');
    writeFileSync(plain, '');
    expect(() => findChromium({ CHROMIUM_PATH: plain })).toThrow(BrowserUnavailableError);
    expect(() => findChromium({ CHROMIUM_PATH: join(dir, 'missing') })).toThrow(
      /CHROMIUM_PATH=.*missing is not an executable file/,
    );
  });
});

describe('ensureChromium', () => {
  it('provides a browser that opens a page', async () => {
    const path = ensureChromium();
    expect(findChromium()).toBe(path);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setContent('<svg width="120" height="80"><rect width="50" height="20"/></svg>');
      const box = await page.$eval('svg', (svg) => svg.getBoundingClientRect().width);
      expect(box).toBe(120);
    } finally {
      await browser.close();
    }
  });
});
