#!/usr/bin/env node
/**
 * Prints a sha256 of the shared data folder (every file's relative path and bytes). The root
 * `test` script passes it to turbo as ANOMALIA_SHARED_DATA_DIGEST (turbo hashes `ANOMALIA_*`
 * variables), because turbo does not hash files outside the repository: without it a cached test
 * pass would survive a change to ../shared/data.
 *
 * The folder is $ANOMALIA_SHARED_DIR/data, else ../shared/data beside the repository (as
 * `sharedDataPath` of @anomalia/core/testing finds it). A missing folder prints "missing".
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.ANOMALIA_SHARED_DIR
  ? resolve(process.env.ANOMALIA_SHARED_DIR)
  : resolve(root, '..', 'shared');
const data = join(shared, 'data');

/** Every file under `dir` (symbolic links followed), sorted, so the digest does not depend on listing order. */
function files(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path));
    else out.push(path);
  }
  return out.sort();
}

if (!existsSync(data)) {
  process.stdout.write('missing\n');
} else {
  const hash = createHash('sha256');
  for (const path of files(data)) {
    hash.update(`${relative(data, path)}\0`);
    hash.update(readFileSync(path));
    hash.update('\0');
  }
  process.stdout.write(`${hash.digest('hex')}\n`);
}
