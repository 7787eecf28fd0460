import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The dashboard's static files (plain HTML, CSS and JavaScript shipped in the package's
 * `assets/dashboard`: nothing to build), read once at start. Found next to the bundle
 * (`dist/cli.js` → `../assets`) or the source (`src/http` → `../../assets`).
 */
export function assetDir(): string {
  for (const rel of ['../assets/dashboard', '../../assets/dashboard']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error('the dashboard files (assets/dashboard/index.html) are missing from this installation');
}

export interface Assets {
  /** An HTML page by file name. */
  page(name: 'index.html' | 'login.html'): string;
  /** A script, style sheet or image by file name (null for anything not shipped). */
  file(name: string): { body: Buffer; type: string } | null;
}

export function loadAssets(dir = assetDir()): Assets {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return {
    page: (name) => files.get(name)!.body.toString('utf8'),
    // Only names that were in the directory at start: no path ever reaches the file system.
    file: (name) => (name.endsWith('.html') ? null : (files.get(name) ?? null)),
  };
}
