import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_FILE, manifestDigest } from '../artifact';
import { ArtifactError } from '../errors';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON that tests edit freely, field by field
type Json = Record<string, any>;

/**
 * Edits a saved artifact's manifest as an attacker or a careless user would: `edit` changes the
 * parsed JSON in place. With `redigest`, the digest is recomputed afterwards (what anyone who read
 * the format can do), so only a signature or a consistency check can catch the edit.
 */
export async function editManifest(
  dir: string,
  edit: (manifest: Json) => void,
  options: { redigest?: boolean } = {},
): Promise<void> {
  const path = join(dir, MANIFEST_FILE);
  const manifest = JSON.parse(await readFile(path, 'utf8')) as Json;
  edit(manifest);
  if (options.redigest) manifest.digest = manifestDigest(manifest);
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * The `ArtifactError` a load rejects with. A load that succeeds, or fails with anything else,
 * throws (failing the test): a tampered artifact must be refused as an artifact problem.
 */
export async function refusedLoad(load: Promise<unknown>): Promise<ArtifactError> {
  const outcome = await load.then(
    () => ({ loaded: true as const }),
    (error: unknown) => ({ loaded: false as const, error }),
  );
  if (outcome.loaded) throw new Error('expected the load to be refused with an ArtifactError; it succeeded');
  if (!(outcome.error instanceof ArtifactError))
    throw new Error(`expected an ArtifactError, got ${String(outcome.error)}`, { cause: outcome.error });
  return outcome.error;
}
