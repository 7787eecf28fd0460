import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Test helper (not exported by the package; same as @anomalia/mosaiq's): the absolute path of a file under the project's
 * `../shared/data`, found by walking up from `fromUrl` to the workspace root (the directory with
 * pnpm-workspace.yaml). ANOMALIA_SHARED_DIR overrides the location of `shared/`.
 */
export function sharedDataPath(fromUrl: string, ...parts: string[]): string {
  const override = process.env.ANOMALIA_SHARED_DIR;
  if (override) return join(override, 'data', ...parts);
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return resolve(dir, '..', 'shared', 'data', ...parts);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${fromUrl}; set ANOMALIA_SHARED_DIR`);
    dir = parent;
  }
}
