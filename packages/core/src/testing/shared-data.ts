import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of a file under the project's shared data folder, read in place (never copied
 * into the repository). `ANOMALIA_SHARED_DIR` names the `shared/` folder; by default it is
 * `../shared` beside the workspace root (the directory holding pnpm-workspace.yaml), found by
 * walking up from `fromUrl` (a test's `import.meta.url`). A missing file is an error naming the
 * path and how to fix it, not a confusing ENOENT deep inside a test.
 */
export function sharedDataPath(fromUrl: string, ...parts: string[]): string {
  const path = join(sharedDir(fromUrl), 'data', ...parts);
  if (!existsSync(path)) {
    throw new Error(
      `shared data not found at ${path}: put the shared folder beside the repository (../shared) or set ANOMALIA_SHARED_DIR to its location`,
    );
  }
  return path;
}

/** The shared folder (holding data/, seeds/, reference/) for a file inside the workspace. */
export function sharedDir(fromUrl: string): string {
  const override = process.env.ANOMALIA_SHARED_DIR;
  if (override) return resolve(override);
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return resolve(dir, '..', 'shared');
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no pnpm-workspace.yaml above ${fromUrl}; set ANOMALIA_SHARED_DIR`);
    dir = parent;
  }
}
