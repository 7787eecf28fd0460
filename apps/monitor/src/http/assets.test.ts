import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assetDir, loadAssets } from './assets';

const dir = assetDir();
const read = (name: string) => readFileSync(join(dir, name), 'utf8');

describe('the dashboard files', () => {
  it('never turn data into markup or code, and carry no inline script or style', () => {
    for (const name of ['app.js', 'login.js']) {
      const js = read(name);
      for (const sink of [
        'innerHTML',
        'outerHTML',
        'insertAdjacentHTML',
        'document.write',
        'eval(',
        'new Function',
        "setTimeout('",
        '.onclick',
      ])
        expect(js.includes(sink), `${name} uses ${sink}`).toBe(false);
    }
    for (const name of ['index.html', 'login.html']) {
      const html = read(name);
      // Every script is an external file of this origin; no inline handlers or styles (the CSP forbids them too).
      expect(html.match(/<script(?![^>]*\bsrc="\/assets\/[a-z]+\.js")[^>]*>/g), name).toBeNull();
      expect(html, name).not.toMatch(/\son[a-z]+=/i);
      expect(html, name).not.toMatch(/\sstyle=|<style/i);
      expect(html, name).not.toMatch(/https?:\/\//);
    }
  });

  it('serves only the shipped files by name, never an HTML page or a path', () => {
    const assets = loadAssets(dir);
    expect(assets.file('app.js')?.type).toBe('text/javascript; charset=utf-8');
    expect(assets.file('app.css')?.type).toBe('text/css; charset=utf-8');
    expect(assets.file('icon.svg')?.type).toBe('image/svg+xml');
    expect(assets.file('index.html')).toBeNull();
    expect(assets.file('../package.json')).toBeNull();
    expect(assets.file('app.js/../../README.md')).toBeNull();
    expect(assets.page('login.html')).toContain('<form id="login">');
  });
});
